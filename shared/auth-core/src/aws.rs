//! Secrets from AWS (Secrets Manager, SSM Parameter Store) and RDS IAM authentication, read once
//! at cold start with the function's own credentials (feature `aws`; see [`client`]).
//!
//! | variable | what it loads |
//! |---|---|
//! | `DATABASE_URL_SECRET_ARN` | `DATABASE_URL` from a Secrets Manager secret: the URL itself, `{"url": …}`, or an RDS-managed `{"username","password","host","port","dbname"}` secret |
//! | `DATABASE_URL_PARAMETER` | `DATABASE_URL` from an SSM parameter (SecureString decrypted) |
//! | `DATABASE_READ_URL_SECRET_ARN`, `DATABASE_READ_URL_PARAMETER` | `DATABASE_READ_URL` (the reader endpoint) the same two ways |
//! | `BETTER_AUTH_SECRET_ARN` | `BETTER_AUTH_SECRET` from a Secrets Manager secret (plain, or `{"BETTER_AUTH_SECRET": …}`) |
//! | `BETTER_AUTH_SECRET_PARAMETER` | `BETTER_AUTH_SECRET` from an SSM parameter |
//! | `BETTER_AUTH_SECONDARY_STORAGE_URL_SECRET_ARN` | `BETTER_AUTH_SECONDARY_STORAGE_URL` (the Redis URL, with its password) from a Secrets Manager secret: the URL itself or `{"url": …}` |
//! | `BETTER_AUTH_SECONDARY_STORAGE_URL_PARAMETER` | the same from an SSM parameter |
//! | `BETTER_AUTH_ACCESS_CONTROL_PARAMETER` | `BETTER_AUTH_ACCESS_CONTROL` (the app's roles, JSON) from an SSM parameter: Lambda's 4 KB of environment is soon too small for them |
//! | `AUTHORIZER_ROUTES_PARAMETER` | `AUTHORIZER_ROUTES` (the route rules, JSON) from an SSM parameter |
//! | `DATABASE_IAM_AUTH=true` | a fresh RDS IAM token as the password of every new connection (to the reader endpoint too, minted for its host) |
//!
//! Without any of them no AWS client is built and nothing is fetched. Credentials are the ones
//! Lambda gives every function (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`,
//! or the container credentials endpoint); the region is `AWS_REGION`. `AWS_ENDPOINT_URL` (or the
//! service-specific `AWS_ENDPOINT_URL_SECRETS_MANAGER` / `AWS_ENDPOINT_URL_SSM`) points the
//! clients elsewhere, e.g. at a local emulator in tests.

pub mod client;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

pub use self::client::{AwsClient, AwsCredentialSource, AwsCredentials, AwsError};
use crate::config::Config;
use crate::env::{ConfigError, Env};
use crate::store::postgres::settings::PasswordSource;

/// How long an RDS IAM token is valid.
pub const IAM_TOKEN_LIFETIME: Duration = Duration::from_secs(900);

fn failed(var: &'static str, reason: impl std::fmt::Display) -> ConfigError {
    ConfigError::Invalid {
        var,
        reason: reason.to_string(),
    }
}

/// Reads the process environment, resolves the AWS-held values, and parses the [`Config`].
pub async fn config_from_env() -> Result<Config, ConfigError> {
    let env: HashMap<String, String> = std::env::vars().collect();
    config_from_lookup(|name| env.get(name).cloned()).await
}

/// [`config_from_env`] over any lookup (tests pass a map).
pub async fn config_from_lookup(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    let env = Env::new(&lookup);
    let get = |name: &str| env.get(name);
    // `DATABASE_IAM_AUTH=ture` stops the function: it never silently means false.
    let wants_iam = env.flag("DATABASE_IAM_AUTH", false)?;
    let sources = [
        "DATABASE_URL_SECRET_ARN",
        "DATABASE_URL_PARAMETER",
        "DATABASE_READ_URL_SECRET_ARN",
        "DATABASE_READ_URL_PARAMETER",
        "BETTER_AUTH_SECRET_ARN",
        "BETTER_AUTH_SECRET_PARAMETER",
        "BETTER_AUTH_SECONDARY_STORAGE_URL_SECRET_ARN",
        "BETTER_AUTH_SECONDARY_STORAGE_URL_PARAMETER",
        "BETTER_AUTH_ACCESS_CONTROL_PARAMETER",
        "AUTHORIZER_ROUTES_PARAMETER",
    ];
    if !wants_iam && sources.iter().all(|v| get(v).is_none()) {
        return Config::from_lookup(&lookup);
    }
    let sdk = AwsClient::from_env(&get).map_err(|e| {
        let var = if wants_iam {
            "DATABASE_IAM_AUTH"
        } else {
            sources
                .iter()
                .copied()
                .find(|v| get(v).is_some())
                .unwrap_or("AWS_REGION")
        };
        failed(var, e)
    })?;
    let mut overlay: HashMap<&'static str, String> = HashMap::new();
    for (target, secret_arn, parameter_name) in [
        (
            "DATABASE_URL",
            "DATABASE_URL_SECRET_ARN",
            "DATABASE_URL_PARAMETER",
        ),
        (
            "DATABASE_READ_URL",
            "DATABASE_READ_URL_SECRET_ARN",
            "DATABASE_READ_URL_PARAMETER",
        ),
    ] {
        if let Some(arn) = get(secret_arn) {
            let value = secret_string(&sdk, &arn, secret_arn).await?;
            overlay.insert(target, database_url_from_secret(&value, secret_arn)?);
        } else if let Some(name) = get(parameter_name) {
            let value = parameter(&sdk, &name, parameter_name).await?;
            overlay.insert(target, value);
        }
    }
    if let Some(arn) = get("BETTER_AUTH_SECRET_ARN") {
        let value = secret_string(&sdk, &arn, "BETTER_AUTH_SECRET_ARN").await?;
        overlay.insert("BETTER_AUTH_SECRET", auth_secret_from_secret(&value)?);
    } else if let Some(name) = get("BETTER_AUTH_SECRET_PARAMETER") {
        let value = parameter(&sdk, &name, "BETTER_AUTH_SECRET_PARAMETER").await?;
        overlay.insert("BETTER_AUTH_SECRET", value);
    }
    // Redis URLs (they may carry a password): the secondary storage's, and DPoP's replay store.
    for (target, secret_arn, parameter_name) in [
        (
            "BETTER_AUTH_SECONDARY_STORAGE_URL",
            "BETTER_AUTH_SECONDARY_STORAGE_URL_SECRET_ARN",
            "BETTER_AUTH_SECONDARY_STORAGE_URL_PARAMETER",
        ),
        (
            "BETTER_AUTH_OAUTH_DPOP_REDIS_URL",
            "BETTER_AUTH_OAUTH_DPOP_REDIS_URL_SECRET_ARN",
            "BETTER_AUTH_OAUTH_DPOP_REDIS_URL_PARAMETER",
        ),
    ] {
        if let Some(arn) = get(secret_arn) {
            let value = secret_string(&sdk, &arn, secret_arn).await?;
            overlay.insert(target, url_from_secret(&value, secret_arn)?);
        } else if let Some(name) = get(parameter_name) {
            let value = parameter(&sdk, &name, parameter_name).await?;
            overlay.insert(target, value.trim().to_owned());
        }
    }
    for (source, target) in [
        (
            "BETTER_AUTH_ACCESS_CONTROL_PARAMETER",
            "BETTER_AUTH_ACCESS_CONTROL",
        ),
        ("AUTHORIZER_ROUTES_PARAMETER", "AUTHORIZER_ROUTES"),
    ] {
        if let Some(name) = get(source) {
            overlay.insert(target, parameter(&sdk, &name, source).await?);
        }
    }
    tracing::info!(
        loaded = ?overlay.keys().collect::<Vec<_>>(),
        iam_auth = wants_iam,
        "configuration loaded from AWS"
    );
    let mut config =
        Config::from_lookup(|name| overlay.get(name).cloned().or_else(|| lookup(name)))?;
    if wants_iam {
        let primary = RdsIamToken::new(&sdk, &config.database.pg, "DATABASE_URL")?;
        config.database.password_source = Some(Arc::new(primary));
        if let Some(read) = &mut config.database.read {
            let reader = RdsIamToken::new(&sdk, &read.pg, "DATABASE_READ_URL")?;
            read.password_source = Some(Arc::new(reader));
        }
    }
    Ok(config)
}

async fn secret_string(
    sdk: &AwsClient,
    arn: &str,
    var: &'static str,
) -> Result<String, ConfigError> {
    sdk.secret_string(arn)
        .await
        .map_err(|e| failed(var, format!("cannot read the secret: {e}")))?
        .ok_or_else(|| failed(var, "the secret has no string value"))
}

async fn parameter(sdk: &AwsClient, name: &str, var: &'static str) -> Result<String, ConfigError> {
    sdk.parameter(name)
        .await
        .map_err(|e| failed(var, format!("cannot read the parameter: {e}")))?
        .ok_or_else(|| failed(var, "the parameter has no value"))
}

/// A database URL from a secret's string: the URL itself, `{"url"|"DATABASE_URL": …}`, or an
/// RDS-managed secret (`username`, `password`, `host`, `port`, `dbname`; TLS required).
/// `var` names the variable that held the secret's ARN, in errors.
pub fn database_url_from_secret(value: &str, var: &'static str) -> Result<String, ConfigError> {
    let trimmed = value.trim();
    if !trimmed.starts_with('{') {
        return Ok(trimmed.to_owned());
    }
    let json: serde_json::Value = serde_json::from_str(trimmed)
        .map_err(|_| failed(var, "the secret is neither a URL nor JSON"))?;
    for key in ["url", "DATABASE_URL", "databaseUrl"] {
        if let Some(url) = json.get(key).and_then(|v| v.as_str()) {
            return Ok(url.to_owned());
        }
    }
    let field = |key: &str| -> Option<String> {
        match json.get(key)? {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    };
    let (Some(user), Some(password), Some(host)) =
        (field("username"), field("password"), field("host"))
    else {
        return Err(failed(
            var,
            "JSON secrets need \"url\", or \"username\", \"password\" and \"host\"",
        ));
    };
    let port = field("port").unwrap_or_else(|| "5432".into());
    let dbname = field("dbname").unwrap_or_else(|| "postgres".into());
    let sslmode = field("sslmode").unwrap_or_else(|| "require".into());
    let enc = |s: &str| utf8_percent_encode(s, NON_ALPHANUMERIC).to_string();
    Ok(format!(
        "postgres://{}:{}@{}:{port}/{}?sslmode={}",
        enc(&user),
        enc(&password),
        host,
        enc(&dbname),
        enc(&sslmode)
    ))
}

/// A URL from a secret's string: the URL itself, or `{"url": …}`; any other JSON object is
/// refused, naming `var`.
pub fn url_from_secret(value: &str, var: &'static str) -> Result<String, ConfigError> {
    let trimmed = value.trim();
    if trimmed.starts_with('{') {
        let json: serde_json::Value = serde_json::from_str(trimmed)
            .map_err(|_| failed(var, "the secret is neither a URL nor JSON"))?;
        return json
            .get("url")
            .and_then(|v| v.as_str())
            .map(str::to_owned)
            .ok_or_else(|| failed(var, "the JSON secret has no \"url\" key"));
    }
    Ok(trimmed.to_owned())
}

/// The Better Auth secret from a secret's string: plain, or `{"BETTER_AUTH_SECRET"|"secret": …}`.
/// A JSON object without either key is refused (naming `BETTER_AUTH_SECRET_ARN`): using the
/// whole JSON text as the secret would verify no cookie and hide the mistake.
pub fn auth_secret_from_secret(value: &str) -> Result<String, ConfigError> {
    const VAR: &str = "BETTER_AUTH_SECRET_ARN";
    let trimmed = value.trim();
    if trimmed.starts_with('{')
        && let Ok(serde_json::Value::Object(json)) = serde_json::from_str(trimmed)
    {
        return ["BETTER_AUTH_SECRET", "secret"]
            .iter()
            .find_map(|key| json.get(*key).and_then(|v| v.as_str()))
            .filter(|secret| !secret.trim().is_empty())
            .map(str::to_owned)
            .ok_or_else(|| {
                failed(
                    VAR,
                    "the JSON secret has no non-empty \"BETTER_AUTH_SECRET\" or \"secret\" key",
                )
            });
    }
    Ok(trimmed.to_owned())
}

/// Mints RDS IAM authentication tokens (SigV4 presigned `connect` URLs, valid 15 minutes) for the
/// configured host, port and user, with the function's credentials.
pub struct RdsIamToken {
    aws: AwsClient,
    host: String,
    port: u16,
    user: String,
}

impl RdsIamToken {
    /// From the AWS client and a database URL (host, port, user), the variable `url_var` that
    /// held it named in errors.
    pub fn new(
        aws: &AwsClient,
        pg: &tokio_postgres::Config,
        url_var: &str,
    ) -> Result<Self, ConfigError> {
        const VAR: &str = "DATABASE_IAM_AUTH";
        let host = match pg.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
            _ => return Err(failed(VAR, format!("{url_var} must name a TCP host"))),
        };
        Ok(Self {
            aws: aws.clone(),
            port: pg.get_ports().first().copied().unwrap_or(5432),
            user: pg
                .get_user()
                .map(str::to_owned)
                .ok_or_else(|| failed(VAR, format!("{url_var} must name the IAM database user")))?,
            host,
        })
    }
}

impl PasswordSource for RdsIamToken {
    fn password(
        &self,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<String, String>> + Send + '_>>
    {
        Box::pin(async move {
            let credentials = self
                .aws
                .credentials()
                .await
                .map_err(|e| format!("no AWS credentials: {e}"))?;
            rds_auth_token(
                credentials.identity(),
                self.aws.region(),
                &self.host,
                self.port,
                &self.user,
                SystemTime::now(),
            )
        })
    }
}

/// An RDS IAM authentication token: `host:port/?Action=connect&DBUser=user&X-Amz-…`, signed
/// with SigV4 for the `rds-db` service, valid for [`IAM_TOKEN_LIFETIME`] from `time`.
pub fn rds_auth_token(
    credentials: aws_credential_types::Credentials,
    region: &str,
    host: &str,
    port: u16,
    user: &str,
    time: SystemTime,
) -> Result<String, String> {
    let identity = credentials.into();
    let mut settings = SigningSettings::default();
    settings.expires_in = Some(IAM_TOKEN_LIFETIME);
    settings.signature_location = SignatureLocation::QueryParams;
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("rds-db")
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| e.to_string())?;
    let url = format!("https://{host}:{port}/?Action=connect&DBUser={user}");
    let request = SignableRequest::new("GET", &url, std::iter::empty(), SignableBody::Bytes(&[]))
        .map_err(|e| e.to_string())?;
    let (instructions, _) = sign(request, &params.into())
        .map_err(|e| e.to_string())?
        .into_parts();
    let mut url = url::Url::parse(&url).map_err(|e| e.to_string())?;
    for (name, value) in instructions.params() {
        url.query_pairs_mut().append_pair(name, value);
    }
    Ok(url.as_str().trim_start_matches("https://").to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A typo in a flag stops the function (it used to mean false, silently).
    #[tokio::test]
    async fn a_misspelt_iam_flag_is_an_error_not_false() {
        let vars = [
            ("DATABASE_URL", "postgres://u@127.0.0.1:9/d"),
            (
                "BETTER_AUTH_SECRET",
                "a-secret-of-at-least-32-characters-long",
            ),
            ("DATABASE_IAM_AUTH", "ture"),
        ];
        let error = config_from_lookup(|k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        })
        .await
        .expect_err("ture is not a flag");
        assert_eq!(
            error,
            ConfigError::Invalid {
                var: "DATABASE_IAM_AUTH",
                reason: "expected true or false".into()
            }
        );
    }

    #[test]
    fn database_urls_are_read_from_every_secret_shape() {
        const VAR: &str = "DATABASE_READ_URL_SECRET_ARN";
        assert_eq!(
            database_url_from_secret(" postgres://u:p@h:5432/d \n", VAR).expect("plain"),
            "postgres://u:p@h:5432/d"
        );
        assert_eq!(
            database_url_from_secret(r#"{"url":"postgres://u:p@h/d"}"#, VAR).expect("url"),
            "postgres://u:p@h/d"
        );
        assert_eq!(
            database_url_from_secret(
                r#"{"engine":"postgres","username":"app","password":"p@ss:w/rd","host":"db.example","port":5433,"dbname":"auth"}"#,
                VAR
            )
            .expect("rds"),
            "postgres://app:p%40ss%3Aw%2Frd@db.example:5433/auth?sslmode=require"
        );
        assert!(database_url_from_secret(r#"{"user":"x"}"#, VAR).is_err());
        let err =
            database_url_from_secret(r#"{"password":"hunter2"}"#, VAR).expect_err("incomplete");
        assert!(!err.to_string().contains("hunter2"));
    }

    #[test]
    fn redis_urls_are_plain_or_json() {
        const VAR: &str = "BETTER_AUTH_SECONDARY_STORAGE_URL_SECRET_ARN";
        assert_eq!(
            url_from_secret(" rediss://u:p@cache:6379/0\n", VAR),
            Ok("rediss://u:p@cache:6379/0".to_owned())
        );
        assert_eq!(
            url_from_secret(r#"{"url":"rediss://cache:6379"}"#, VAR),
            Ok("rediss://cache:6379".to_owned())
        );
        assert!(matches!(
            url_from_secret(r#"{"host":"cache"}"#, VAR),
            Err(ConfigError::Invalid { var: VAR, .. })
        ));
    }

    #[test]
    fn auth_secrets_are_plain_or_json() {
        assert_eq!(auth_secret_from_secret("abc\n"), Ok("abc".to_owned()));
        assert_eq!(
            auth_secret_from_secret(r#"{"BETTER_AUTH_SECRET":"xyz"}"#),
            Ok("xyz".to_owned())
        );
        for wrong in [
            r#"{"other":1}"#,
            r#"{"secret":""}"#,
            r#"{"BETTER_AUTH_SECRET":5}"#,
        ] {
            let error = auth_secret_from_secret(wrong).expect_err(wrong);
            assert!(
                matches!(
                    error,
                    ConfigError::Invalid {
                        var: "BETTER_AUTH_SECRET_ARN",
                        ..
                    }
                ),
                "{error}"
            );
            assert!(
                !error.to_string().contains("other"),
                "the value is never echoed"
            );
        }
    }

    // botocore's RDSSigner for the same credentials, region, endpoint, user and time (see
    // tests/aws/rds_token_vector.py): the reference implementation AWS ships.
    const BOTOCORE_TOKEN: &str = "db.cluster-abc.eu-west-1.rds.amazonaws.com:5432/?Action=connect&DBUser=app_iam&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261122%2Feu-west-1%2Frds-db%2Faws4_request&X-Amz-Date=20261122T100000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=c00c8ccf864a85325a36801afdf4184a2b3f5cd9da71327b4eca463bf0c4be64";

    #[test]
    fn rds_tokens_match_botocore() {
        let credentials = aws_credential_types::Credentials::new(
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            None,
            None,
            "test",
        );
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_341_600);
        let token = rds_auth_token(
            credentials,
            "eu-west-1",
            "db.cluster-abc.eu-west-1.rds.amazonaws.com",
            5432,
            "app_iam",
            time,
        )
        .expect("token");
        assert!(token.contains("X-Amz-Expires=900"), "{token}");
        assert_eq!(token, BOTOCORE_TOKEN);
    }
}
