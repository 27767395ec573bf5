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

impl Emulator {
    async fn start() -> Self {
        let moto = Moto::start().await;
        let env: HashMap<&str, String> = moto.env().into_iter().collect();
        let sdk = auth_core::aws::sdk_config(&|k| env.get(k).cloned()).await;
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
    };
    let ok = auth
        .authenticate(&raw)
        .await
        .expect("the loaded settings work");
    assert_eq!(ok.identity.user_id, user);
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
    let config = aws
        .config(&[
            ("DATABASE_URL_SECRET_ARN", url_arn),
            ("BETTER_AUTH_SECRET_ARN", secret_arn),
            // Empty values (what the SAM template passes when a parameter is unset) are unset.
            ("DATABASE_URL", String::new()),
        ])
        .await
        .expect("config from Secrets Manager");
    assert_eq!(config.secret.bytes(), SECRET.as_bytes());
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
    assert_eq!(ok.identity.user_id, user);
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
            (
                "BETTER_AUTH_SECRET_PARAMETER",
                "/app/better-auth-secret".into(),
            ),
        ])
        .await
        .expect("config from SSM");
    authenticates(&config, &db).await;
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
            ("BETTER_AUTH_SECRET", SECRET.into()),
            ("DATABASE_IAM_AUTH", "true".into()),
        ])
        .await
        .expect("config");
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
