//! Secrets Manager and SSM Parameter Store, through a local AWS emulator (moto server) reached via
//! `AWS_ENDPOINT_URL`: the cold-start loading path of every function, with nothing mocked in our
//! code. The loaded `DATABASE_URL` and secret are then used for a real session lookup.

use std::collections::HashMap;

use auth_core::signing::{Secret, sign_cookie_value};
use auth_core::{ConfigError, RawCredentials};
use test_support::aws::Moto;
use test_support::{TestDb, Variant};

const SECRET: &str = "secret-from-secrets-manager-0123456789abcdef";

struct Emulator {
    moto: Moto,
    sdk: aws_config::SdkConfig,
}

/// The AWS SDK, pointed at the emulator: only the tests use it (to create what our code reads);
/// our code signs its own two calls.
async fn sdk_config(env: &HashMap<&str, String>) -> aws_config::SdkConfig {
    use aws_smithy_http_client::tls;
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(http)
        .endpoint_url(env["AWS_ENDPOINT_URL"].clone())
        .region(aws_config::Region::new(env["AWS_REGION"].clone()))
        .credentials_provider(aws_credential_types::Credentials::new(
            env["AWS_ACCESS_KEY_ID"].clone(),
            env["AWS_SECRET_ACCESS_KEY"].clone(),
            None,
            None,
            "test",
        ))
        .load()
        .await
}

impl Emulator {
    async fn start() -> Self {
        let moto = Moto::start().await;
        let env: HashMap<&str, String> = moto.env().into_iter().collect();
        let sdk = sdk_config(&env).await;
        Self { moto, sdk }
    }

    async fn secret(&self, name: &str, value: &str) -> String {
        aws_sdk_secretsmanager::Client::new(&self.sdk)
            .create_secret()
            .name(name)
            .secret_string(value)
            .send()
            .await
            .expect("create the secret")
            .arn()
            .expect("arn")
            .to_owned()
    }

    async fn parameter(&self, name: &str, value: &str) {
        aws_sdk_ssm::Client::new(&self.sdk)
            .put_parameter()
            .name(name)
            .value(value)
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .send()
            .await
            .expect("put the parameter");
    }

    async fn config(&self, vars: &[(&str, String)]) -> Result<auth_core::Config, ConfigError> {
        let mut map: HashMap<String, String> = self
            .moto
            .env()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        for (k, v) in vars {
            map.insert((*k).to_owned(), v.clone());
        }
        auth_core::aws::config_from_lookup(|k| map.get(k).cloned()).await
    }
}

async fn authenticates(config: &auth_core::Config, db: &TestDb) -> String {
    let (user, session) = db.user_with_session().await;
    let auth = auth_core::Authenticator::new(config).expect("authenticator");
    let cookie = format!(
        "better-auth.session_token={}",
        sign_cookie_value(&Secret::new(SECRET), &session.token)
    );
    let raw = RawCredentials {
        authorization: vec![],
        cookies: vec![&cookie],
        api_keys: vec![],
        ..Default::default()
    };
    let ok = auth
        .authenticate(&raw)
        .await
        .expect("the loaded settings work");
    assert_eq!(ok.identity.user_id.as_deref(), Some(user.as_str()));
    user
}

#[tokio::test]
async fn secrets_manager_values_are_loaded_at_cold_start() {
    let aws = Emulator::start().await;
    let db = TestDb::new(Variant::Default).await;
    let url_arn = aws.secret("app/database-url", &db.url).await;
    let secret_arn = aws
        .secret(
            "app/better-auth",
            &format!(r#"{{"BETTER_AUTH_SECRET":"{SECRET}"}}"#),
        )
        .await;
    // The reader endpoint the same way (here the same server: not in recovery, so no lag).
    let read_arn = aws.secret("app/database-read-url", &db.url).await;
    let config = aws
        .config(&[
            ("DATABASE_URL_SECRET_ARN", url_arn),
            ("DATABASE_READ_URL_SECRET_ARN", read_arn),
            ("DATABASE_READ_MAX_LAG_MS", "1000".into()),
            ("BETTER_AUTH_SECRET_ARN", secret_arn),
            // Empty values (what the SAM template passes when a parameter is unset) are unset.
            ("DATABASE_URL", String::new()),
        ])
        .await
        .expect("config from Secrets Manager");
    assert_eq!(config.secret.bytes(), SECRET.as_bytes());
    let read = config.database.read.as_ref().expect("the reader endpoint");
    assert_eq!(read.pg.get_dbname(), config.database.pg.get_dbname());
    authenticates(&config, &db).await;
}

#[tokio::test]
async fn the_secondary_storage_url_is_loaded_from_secrets_manager() {
    let aws = Emulator::start().await;
    let db = TestDb::new(Variant::Default).await;
    let redis = test_support::redis::TestRedis::new();
    let arn = aws
        .secret("app/redis", &format!(r#"{{"url":"{}"}}"#, redis.url))
        .await;
    let config = aws
        .config(&[
            ("DATABASE_URL", db.url.clone()),
            ("BETTER_AUTH_SECRET", SECRET.into()),
            ("BETTER_AUTH_SECONDARY_STORAGE_URL_SECRET_ARN", arn),
            ("BETTER_AUTH_SECONDARY_STORAGE_PREFIX", redis.prefix.clone()),
        ])
        .await
        .expect("config from Secrets Manager");
    let settings = config.secondary_storage.clone().expect("secondary storage");
    assert_eq!(settings.url, redis.url);
    // A session only in Redis authenticates with the loaded settings.
    let user = db
        .create_user(&test_support::NewUser::new("redis@example.com"))
        .await;
    let token = test_support::random_token(32);
    let now = chrono::Utc::now();
    let value = serde_json::json!({
        "session": {"id": "s1", "token": token, "userId": user, "expiresAt": now + chrono::Duration::hours(1)},
        "user": {"id": user, "email": "redis@example.com", "name": "R", "emailVerified": true},
    });
    redis.set(&token, &value.to_string()).await;
    let auth = auth_core::Authenticator::new(&config).expect("authenticator");
    let ok = test_support::authenticate_cookie(&auth, SECRET, &token)
        .await
        .expect("a session in Redis");
    assert_eq!(ok.identity.user_id.as_deref(), Some(user.as_str()));
}

#[tokio::test]
async fn ssm_parameters_are_loaded_at_cold_start() {
    let aws = Emulator::start().await;
    let db = TestDb::new(Variant::Default).await;
    aws.parameter("/app/database-url", &db.url).await;
    aws.parameter("/app/better-auth-secret", SECRET).await;
    let config = aws
        .config(&[
            ("DATABASE_URL_PARAMETER", "/app/database-url".into()),
            ("DATABASE_READ_URL_PARAMETER", "/app/database-url".into()),
            (
                "BETTER_AUTH_SECRET_PARAMETER",
                "/app/better-auth-secret".into(),
            ),
        ])
        .await
        .expect("config from SSM");
    assert!(config.database.read.is_some(), "the reader endpoint");
    authenticates(&config, &db).await;
}

/// Roles and route rules outgrow Lambda's 4 KB of environment: they load from SSM too, and a
/// bad value there stops the start naming the setting it stands for.
#[tokio::test]
async fn access_control_and_route_rules_are_loaded_from_ssm() {
    let aws = Emulator::start().await;
    let db = TestDb::new(Variant::Default).await;
    aws.parameter(
        "/app/roles",
        r#"{"roles":{"clerk":{"order":["read"]}},"defaultRole":"clerk"}"#,
    )
    .await;
    aws.parameter(
        "/app/routes",
        r#"[{"route":"GET /orders","permissions":{"order":["read"]}}]"#,
    )
    .await;
    let config = aws
        .config(&[
            ("DATABASE_URL", db.url.clone()),
            ("BETTER_AUTH_SECRET", SECRET.into()),
            ("BETTER_AUTH_ACCESS_CONTROL_PARAMETER", "/app/roles".into()),
            ("AUTHORIZER_ROUTES_PARAMETER", "/app/routes".into()),
        ])
        .await
        .expect("config from SSM");
    let routes = config
        .access
        .routes
        .as_ref()
        .expect("the rules were loaded");
    assert_eq!(routes.route_for("GET", "/orders"), Some(0));
    assert!(config.access.control.is_role("clerk"));
    assert!(
        !config.access.control.is_role("admin"),
        "custom roles replace the defaults"
    );
    aws.parameter("/app/bad-routes", r#"[{"route":"GET /orders"}]"#)
        .await;
    let err = aws
        .config(&[
            ("DATABASE_URL", db.url.clone()),
            ("BETTER_AUTH_SECRET", SECRET.into()),
            ("AUTHORIZER_ROUTES_PARAMETER", "/app/bad-routes".into()),
        ])
        .await
        .expect_err("a rule that says nothing");
    assert!(
        matches!(
            err,
            ConfigError::Invalid {
                var: "AUTHORIZER_ROUTES",
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn a_missing_secret_stops_the_start_with_the_variable_named() {
    let aws = Emulator::start().await;
    let missing = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:nope-AbCdEf".to_owned();
    let err = aws
        .config(&[
            ("DATABASE_URL", "postgres://u@localhost/db".into()),
            ("BETTER_AUTH_SECRET_ARN", missing),
        ])
        .await
        .expect_err("no such secret");
    assert!(
        matches!(
            err,
            ConfigError::Invalid {
                var: "BETTER_AUTH_SECRET_ARN",
                ..
            }
        ),
        "{err}"
    );
    let err = aws
        .config(&[
            ("DATABASE_URL_PARAMETER", "/nope".into()),
            ("BETTER_AUTH_SECRET", SECRET.into()),
        ])
        .await
        .expect_err("no such parameter");
    assert!(
        matches!(
            err,
            ConfigError::Invalid {
                var: "DATABASE_URL_PARAMETER",
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn an_rds_managed_json_secret_becomes_a_url() {
    let aws = Emulator::start().await;
    let arn = aws
        .secret(
            "rds!cluster-1",
            r#"{"username":"app","password":"p@ss/word","engine":"postgres","host":"db.internal","port":5432,"dbname":"auth"}"#,
        )
        .await;
    let config = aws
        .config(&[
            ("DATABASE_URL_SECRET_ARN", arn),
            ("BETTER_AUTH_SECRET", SECRET.into()),
        ])
        .await
        .expect("config");
    assert_eq!(config.database.pg.get_user(), Some("app"));
    assert_eq!(config.database.pg.get_password(), Some(&b"p@ss/word"[..]));
    assert_eq!(config.database.pg.get_dbname(), Some("auth"));
    assert_eq!(
        config.database.pg.get_ssl_mode(),
        tokio_postgres::config::SslMode::Require
    );
}

#[tokio::test]
async fn iam_auth_gives_every_new_connection_a_fresh_token() {
    let aws = Emulator::start().await;
    let config = aws
        .config(&[
            (
                "DATABASE_URL",
                "postgres://app_iam@db.cluster-abc.eu-west-1.rds.amazonaws.com:5432/auth?sslmode=require".into(),
            ),
            (
                "DATABASE_READ_URL",
                "postgres://app_iam@db.cluster-ro-abc.eu-west-1.rds.amazonaws.com:5432/auth?sslmode=require".into(),
            ),
            ("BETTER_AUTH_SECRET", SECRET.into()),
            ("DATABASE_IAM_AUTH", "true".into()),
        ])
        .await
        .expect("config");
    let reader = config
        .database
        .read
        .as_ref()
        .and_then(|read| read.password_source.clone())
        .expect("a token source for the reader");
    let reader_token = reader.password().await.expect("a reader token");
    assert!(
        reader_token.starts_with(
            "db.cluster-ro-abc.eu-west-1.rds.amazonaws.com:5432/?Action=connect&DBUser=app_iam&X-Amz-"
        ),
        "minted for the reader's host: {reader_token}"
    );
    let source = config
        .database
        .password_source
        .clone()
        .expect("an IAM token source");
    let token = source.password().await.expect("a token");
    assert!(
        token.starts_with(
            "db.cluster-abc.eu-west-1.rds.amazonaws.com:5432/?Action=connect&DBUser=app_iam&X-Amz-"
        ),
        "{token}"
    );
    assert!(token.contains("X-Amz-Expires=900") && token.contains("%2Feu-west-1%2Frds-db%2F"));
    assert!(format!("{:?}", config.database).contains("iam_auth: true"));
}

/// A container credentials endpoint (what Lambda SnapStart and ECS provide instead of
/// environment variables): answers `credentials` to requests carrying `Authorization: token`,
/// 401 otherwise; counts the requests it answered.
async fn credentials_endpoint(
    token: &'static str,
    credentials: serde_json::Value,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let url = format!(
        "http://{}/credentials",
        listener.local_addr().expect("address")
    );
    let served = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = std::sync::Arc::clone(&served);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut request = vec![0u8; 4096];
            let n = stream.read(&mut request).await.unwrap_or(0);
            let text = String::from_utf8_lossy(&request[..n]).to_ascii_lowercase();
            let (status, body) = if text.contains(&format!("authorization: {token}")) {
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                ("200 OK", credentials.to_string())
            } else {
                ("401 Unauthorized", "{}".to_owned())
            };
            let answer = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(answer.as_bytes()).await;
        }
    });
    (url, served)
}

#[tokio::test]
async fn container_credentials_are_fetched_when_the_environment_has_none() {
    let aws = Emulator::start().await;
    let db = TestDb::new(Variant::Default).await;
    let url_arn = aws.secret("container/database-url", &db.url).await;
    let secret_arn = aws.secret("container/secret", SECRET).await;
    let expires = (chrono::Utc::now() + chrono::Duration::hours(6)).to_rfc3339();
    let (endpoint, served) = credentials_endpoint(
        "container-token",
        serde_json::json!({
            "AccessKeyId": "ASIACONTAINER", "SecretAccessKey": "container-secret",
            "Token": "container-session", "Expiration": expires,
        }),
    )
    .await;
    let mut vars: HashMap<String, String> = aws
        .moto
        .env()
        .into_iter()
        .filter(|(k, _)| !k.starts_with("AWS_ACCESS_KEY_ID") && !k.starts_with("AWS_SECRET"))
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    vars.insert(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI".into(),
        endpoint.clone(),
    );
    vars.insert(
        "AWS_CONTAINER_AUTHORIZATION_TOKEN".into(),
        "container-token".into(),
    );
    vars.insert("DATABASE_URL_SECRET_ARN".into(), url_arn.clone());
    vars.insert("BETTER_AUTH_SECRET_ARN".into(), secret_arn.clone());
    let config = auth_core::aws::config_from_lookup(|k| vars.get(k).cloned())
        .await
        .expect("config with container credentials");
    authenticates(&config, &db).await;
    assert_eq!(
        served.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "fetched once, reused for the second call"
    );

    // A wrong token: the endpoint refuses, the start stops naming the variable.
    vars.insert("AWS_CONTAINER_AUTHORIZATION_TOKEN".into(), "wrong".into());
    let err = auth_core::aws::config_from_lookup(|k| vars.get(k).cloned())
        .await
        .expect_err("no credentials");
    assert!(
        matches!(
            err,
            ConfigError::Invalid {
                var: "DATABASE_URL_SECRET_ARN",
                ..
            }
        ),
        "{err}"
    );
    assert!(!err.to_string().contains("container-secret"));
}
