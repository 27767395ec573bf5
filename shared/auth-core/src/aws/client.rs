//! The two AWS calls cold start needs — Secrets Manager `GetSecretValue` and SSM `GetParameter`
//! — as SigV4-signed JSON requests over the HTTPS client the jwt method already uses, with the
//! credentials Lambda gives every function.
//!
//! The AWS SDK clients did the same through a second HTTP stack (hyper with HTTP/2, its own
//! rustls set-up) and the whole credential chain (profiles, SSO, STS, IMDS): a third of the
//! authorizer's code, for two requests at start-up. `aws-sigv4` (the SDK's own signer) signs.

use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use serde_json::{Value, json};
use tracing::Instrument as _;

use crate::telemetry::RoundTrip;

/// Credentials as Lambda provides them.
#[derive(Clone)]
pub struct AwsCredentials {
    /// `AWS_ACCESS_KEY_ID`.
    pub access_key_id: String,
    /// `AWS_SECRET_ACCESS_KEY`.
    pub secret_access_key: String,
    /// `AWS_SESSION_TOKEN` (temporary credentials: always, on Lambda).
    pub session_token: Option<String>,
    /// When they stop working, when known.
    pub expires: Option<SystemTime>,
}

impl std::fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsCredentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

impl AwsCredentials {
    /// As the signer takes them.
    pub fn identity(&self) -> aws_credential_types::Credentials {
        aws_credential_types::Credentials::new(
            self.access_key_id.clone(),
            self.secret_access_key.clone(),
            self.session_token.clone(),
            self.expires,
            "lambda",
        )
    }
}

/// Where credentials come from: the environment (Lambda sets `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN` for every function), or the container
/// credentials endpoint (`AWS_CONTAINER_CREDENTIALS_FULL_URI`, with
/// `AWS_CONTAINER_AUTHORIZATION_TOKEN`), as Lambda SnapStart and ECS provide them.
#[derive(Clone)]
pub enum AwsCredentialSource {
    /// Fixed for the sandbox's life.
    Environment(AwsCredentials),
    /// Fetched, and fetched again before they expire.
    Container {
        /// The endpoint.
        uri: String,
        /// The `Authorization` header value, when one is required.
        token: Option<String>,
    },
}

impl std::fmt::Debug for AwsCredentialSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Environment(credentials) => {
                f.debug_tuple("Environment").field(credentials).finish()
            }
            // The authorization token is a credential: never printed.
            Self::Container { uri, token } => f
                .debug_struct("Container")
                .field("uri", uri)
                .field("token", &token.as_ref().map(|_| "<redacted>"))
                .finish(),
        }
    }
}

impl AwsCredentialSource {
    /// From the environment (`get`); `None` when it names no credentials.
    pub fn from_env(get: &dyn Fn(&str) -> Option<String>) -> Option<Self> {
        if let (Some(id), Some(secret)) = (get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY")) {
            return Some(Self::Environment(AwsCredentials {
                access_key_id: id,
                secret_access_key: secret,
                session_token: get("AWS_SESSION_TOKEN"),
                expires: None,
            }));
        }
        let uri = get("AWS_CONTAINER_CREDENTIALS_FULL_URI")?;
        Some(Self::Container {
            uri,
            token: get("AWS_CONTAINER_AUTHORIZATION_TOKEN"),
        })
    }
}

/// `localhost`, `127.0.0.0/8` or `::1`.
fn is_loopback(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(domain) => domain.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    }
}

/// The link-local addresses of the container credentials endpoints the AWS SDKs accept
/// besides loopback: ECS (`169.254.170.2`) and EKS Pod Identity (`169.254.170.23`,
/// `fd00:ec2::23`).
fn is_aws_container_host(host: &url::Host<&str>) -> bool {
    const ECS: std::net::Ipv4Addr = std::net::Ipv4Addr::new(169, 254, 170, 2);
    const EKS: std::net::Ipv4Addr = std::net::Ipv4Addr::new(169, 254, 170, 23);
    const EKS_V6: std::net::Ipv6Addr = std::net::Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x23);
    match host {
        url::Host::Ipv4(ip) => *ip == ECS || *ip == EKS,
        url::Host::Ipv6(ip) => *ip == EKS_V6,
        url::Host::Domain(_) => false,
    }
}

/// `AWS_CONTAINER_CREDENTIALS_FULL_URI` must name a loopback or AWS link-local host (the
/// endpoint receives `AWS_CONTAINER_AUTHORIZATION_TOKEN` and answers with credentials: any
/// other host could be someone else's).
fn check_container_uri(uri: &str) -> Result<(), AwsError> {
    let refused = || {
        AwsError::Setup(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI: expected an http(s) URL on a loopback address, \
             169.254.170.2, 169.254.170.23 or [fd00:ec2::23]"
                .into(),
        )
    };
    let parsed = url::Url::parse(uri).map_err(|_| refused())?;
    let host = parsed.host().ok_or_else(refused)?;
    let allowed = matches!(parsed.scheme(), "http" | "https")
        && (is_loopback(&host) || is_aws_container_host(&host));
    if allowed { Ok(()) } else { Err(refused()) }
}

/// An `AWS_ENDPOINT_URL*` override: `https`, or plain `http` on a loopback address only (a local
/// emulator); the signed calls carry the credentials' signature and return secrets.
fn check_endpoint(var: &'static str, url: String) -> Result<String, AwsError> {
    let parsed =
        url::Url::parse(url.trim()).map_err(|_| AwsError::Setup(format!("{var}: not a URL")))?;
    let ok = match (parsed.scheme(), parsed.host()) {
        ("https", Some(_)) => true,
        ("http", Some(host)) => is_loopback(&host),
        _ => false,
    };
    if ok {
        Ok(url)
    } else {
        Err(AwsError::Setup(format!(
            "{var}: expected an https URL (plain http only on a loopback address)"
        )))
    }
}

/// Signs and sends JSON calls to AWS services.
#[derive(Debug, Clone)]
pub struct AwsClient {
    http: reqwest::Client,
    region: String,
    credentials: AwsCredentialSource,
    /// `AWS_ENDPOINT_URL`: every service there (a local emulator in tests).
    endpoint: Option<String>,
    /// `AWS_ENDPOINT_URL_SECRETS_MANAGER`.
    secrets_manager_endpoint: Option<String>,
    /// `AWS_ENDPOINT_URL_SSM`.
    ssm_endpoint: Option<String>,
    cached: std::sync::Arc<tokio::sync::Mutex<Option<AwsCredentials>>>,
}

/// Why an AWS call failed (never carries a credential or a secret value).
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// No region, no credentials, an unusable endpoint.
    #[error("{0}")]
    Setup(String),
    /// The request did not complete.
    #[error("request failed: {0}")]
    Transport(String),
    /// The service refused: its error type and message.
    #[error("{kind}: {message}")]
    Service {
        /// E.g. `ResourceNotFoundException`.
        kind: String,
        /// The service's message.
        message: String,
    },
}

impl AwsClient {
    /// From the environment (`get`): region, credentials, endpoints.
    pub fn from_env(get: &dyn Fn(&str) -> Option<String>) -> Result<Self, AwsError> {
        let region = get("AWS_REGION")
            .or_else(|| get("AWS_DEFAULT_REGION"))
            .ok_or_else(|| AwsError::Setup("no AWS region (AWS_REGION)".into()))?;
        let credentials = AwsCredentialSource::from_env(get).ok_or_else(|| {
            AwsError::Setup(
                "no AWS credentials (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, or AWS_CONTAINER_CREDENTIALS_FULL_URI)"
                    .into(),
            )
        })?;
        if let AwsCredentialSource::Container { uri, .. } = &credentials {
            check_container_uri(uri)?;
        }
        let endpoint = |var: &'static str| -> Result<Option<String>, AwsError> {
            get(var).map(|url| check_endpoint(var, url)).transpose()
        };
        Ok(Self {
            http: crate::keys::http_client(Duration::from_secs(5))
                .map_err(|e| AwsError::Setup(e.to_string()))?,
            region,
            credentials,
            endpoint: endpoint("AWS_ENDPOINT_URL")?,
            secrets_manager_endpoint: endpoint("AWS_ENDPOINT_URL_SECRETS_MANAGER")?,
            ssm_endpoint: endpoint("AWS_ENDPOINT_URL_SSM")?,
            cached: Default::default(),
        })
    }

    /// The region.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// Current credentials (fetched from the container endpoint when that is the source and
    /// the last ones expire within five minutes).
    pub async fn credentials(&self) -> Result<AwsCredentials, AwsError> {
        let (uri, token) = match &self.credentials {
            AwsCredentialSource::Environment(credentials) => return Ok(credentials.clone()),
            AwsCredentialSource::Container { uri, token } => (uri, token),
        };
        let mut cached = self.cached.lock().await;
        if let Some(credentials) = cached.as_ref()
            && credentials
                .expires
                .is_none_or(|at| at > SystemTime::now() + Duration::from_secs(300))
        {
            return Ok(credentials.clone());
        }
        let mut request = self.http.get(uri);
        if let Some(token) = token {
            request = request.header("authorization", token);
        }
        let response = request
            .send()
            .await
            .map_err(|e| AwsError::Transport(e.without_url().to_string()))?;
        if !response.status().is_success() {
            return Err(AwsError::Transport(format!(
                "container credentials endpoint answered {}",
                response.status()
            )));
        }
        let body: Value = response
            .json()
            .await
            .map_err(|e| AwsError::Transport(e.without_url().to_string()))?;
        let field = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
        let (Some(id), Some(secret)) = (field("AccessKeyId"), field("SecretAccessKey")) else {
            return Err(AwsError::Transport(
                "container credentials without AccessKeyId / SecretAccessKey".into(),
            ));
        };
        let expires = field("Expiration")
            .and_then(|e| chrono::DateTime::parse_from_rfc3339(&e).ok())
            .map(|at| SystemTime::from(at.with_timezone(&chrono::Utc)));
        let credentials = AwsCredentials {
            access_key_id: id,
            secret_access_key: secret,
            session_token: field("Token"),
            expires,
        };
        *cached = Some(credentials.clone());
        Ok(credentials)
    }

    fn endpoint_of(&self, service: Service) -> String {
        let specific = match service {
            Service::SecretsManager => &self.secrets_manager_endpoint,
            Service::Ssm => &self.ssm_endpoint,
        };
        if let Some(url) = specific.as_ref().or(self.endpoint.as_ref()) {
            return url.trim_end_matches('/').to_owned();
        }
        let suffix = if self.region.starts_with("cn-") {
            "amazonaws.com.cn"
        } else {
            "amazonaws.com"
        };
        format!("https://{}.{}.{suffix}", service.name(), self.region)
    }

    /// One JSON 1.1 call (`X-Amz-Target: <target>`), signed for the service.
    async fn call(
        &self,
        service: Service,
        target: &'static str,
        body: Value,
    ) -> Result<Value, AwsError> {
        let url = format!("{}/", self.endpoint_of(service));
        let parsed = url::Url::parse(&url).map_err(|e| AwsError::Setup(e.to_string()))?;
        let host = match (parsed.host_str(), parsed.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            (None, _) => return Err(AwsError::Setup(format!("no host in {url}"))),
        };
        let body = body.to_string();
        let credentials = self.credentials().await?;
        let signed = signed_json_request(
            &credentials,
            &self.region,
            service.name(),
            &url,
            &host,
            target,
            &body,
            SystemTime::now(),
        )?;
        let mut request = self.http.post(&url).body(body);
        for (name, value) in &signed {
            request = request.header(name.as_str(), value.as_str());
        }
        let response = request
            .send()
            .instrument(RoundTrip::Aws { target }.span())
            .await
            .map_err(|e| AwsError::Transport(e.without_url().to_string()))?;
        let status = response.status();
        let answer: Value = response
            .json()
            .await
            .map_err(|e| AwsError::Transport(e.without_url().to_string()))?;
        if status.is_success() {
            return Ok(answer);
        }
        let text = |k: &str| answer.get(k).and_then(Value::as_str);
        Err(AwsError::Service {
            // `__type` is `ResourceNotFoundException` or `com.amazonaws…#ResourceNotFoundException`.
            kind: text("__type")
                .map(|t| t.rsplit('#').next().unwrap_or(t).to_owned())
                .unwrap_or_else(|| format!("HTTP {status}")),
            message: text("message")
                .or_else(|| text("Message"))
                .unwrap_or_default()
                .to_owned(),
        })
    }

    /// Secrets Manager `GetSecretValue`: the secret's string.
    pub async fn secret_string(&self, secret_id: &str) -> Result<Option<String>, AwsError> {
        let answer = self
            .call(
                Service::SecretsManager,
                "secretsmanager.GetSecretValue",
                json!({ "SecretId": secret_id }),
            )
            .await?;
        Ok(answer
            .get("SecretString")
            .and_then(Value::as_str)
            .map(str::to_owned))
    }

    /// SSM `GetParameter` with decryption: the parameter's value.
    pub async fn parameter(&self, name: &str) -> Result<Option<String>, AwsError> {
        let answer = self
            .call(
                Service::Ssm,
                "AmazonSSM.GetParameter",
                json!({ "Name": name, "WithDecryption": true }),
            )
            .await?;
        Ok(answer
            .pointer("/Parameter/Value")
            .and_then(Value::as_str)
            .map(str::to_owned))
    }
}

/// The headers of a signed JSON 1.1 call (`host` left to the HTTP client, which sends the same
/// value): `content-type`, `x-amz-target`, and SigV4's `x-amz-date`, `authorization` and
/// `x-amz-security-token`.
#[allow(clippy::too_many_arguments)]
fn signed_json_request(
    credentials: &AwsCredentials,
    region: &str,
    service: &str,
    url: &str,
    host: &str,
    target: &str,
    body: &str,
    time: SystemTime,
) -> Result<Vec<(String, String)>, AwsError> {
    let headers = [
        ("content-type", "application/x-amz-json-1.1"),
        ("host", host),
        ("x-amz-target", target),
    ];
    let identity = credentials.identity().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| AwsError::Setup(e.to_string()))?;
    let signable = SignableRequest::new(
        "POST",
        url,
        headers.iter().copied(),
        SignableBody::Bytes(body.as_bytes()),
    )
    .map_err(|e| AwsError::Setup(e.to_string()))?;
    let (instructions, _) = sign(signable, &params.into())
        .map_err(|e| AwsError::Setup(e.to_string()))?
        .into_parts();
    Ok(headers
        .iter()
        .filter(|(name, _)| *name != "host")
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .chain(
            instructions
                .headers()
                .map(|(n, v)| (n.to_owned(), v.to_owned())),
        )
        .collect())
}

#[derive(Debug, Clone, Copy)]
enum Service {
    SecretsManager,
    Ssm,
}

impl Service {
    /// The endpoint's host prefix, which is also the SigV4 signing name.
    fn name(self) -> &'static str {
        match self {
            Self::SecretsManager => "secretsmanager",
            Self::Ssm => "ssm",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // botocore's SigV4Auth for the same request, credentials and time (see
    // tests/aws/json_request_vector.py): the reference implementation AWS ships.
    const BOTOCORE_AUTHORIZATION: &str = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261122/eu-west-1/secretsmanager/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, Signature=2fb3512c5c85915639d0c3c850ef15bae754aad5945a57228b989c528a5d142b";

    #[test]
    fn json_calls_are_signed_as_botocore_signs_them() {
        let credentials = AwsCredentials {
            access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            session_token: Some("session-token-example".into()),
            expires: None,
        };
        let headers = signed_json_request(
            &credentials,
            "eu-west-1",
            "secretsmanager",
            "https://secretsmanager.eu-west-1.amazonaws.com/",
            "secretsmanager.eu-west-1.amazonaws.com",
            "secretsmanager.GetSecretValue",
            r#"{"SecretId":"arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf"}"#,
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_341_600),
        )
        .expect("signed");
        let header = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(header("x-amz-date"), Some("20261122T100000Z"));
        assert_eq!(
            header("x-amz-security-token"),
            Some("session-token-example")
        );
        assert_eq!(header("authorization"), Some(BOTOCORE_AUTHORIZATION));
        assert_eq!(
            header("x-amz-target"),
            Some("secretsmanager.GetSecretValue")
        );
        assert!(
            !format!("{credentials:?}").contains("wJalr"),
            "the secret key is never printed"
        );
    }

    fn env_of(pairs: Vec<(&'static str, String)>) -> impl Fn(&str) -> Option<String> {
        move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
    }

    /// Issue 27 hardening: the container credentials endpoint gets the authorization token and
    /// answers with credentials; the AWS SDKs only call loopback or AWS link-local hosts.
    #[test]
    fn the_container_credentials_uri_must_be_loopback_or_aws_link_local() {
        let client = |uri: &str| {
            AwsClient::from_env(&env_of(vec![
                ("AWS_REGION", "eu-west-1".into()),
                ("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri.into()),
            ]))
        };
        for ok in [
            "http://127.0.0.1:9000/credentials",
            "http://localhost:9000/credentials",
            "http://[::1]/credentials",
            "http://169.254.170.2/v2/credentials/abc",
            "http://169.254.170.23/v1/credentials",
            "http://[fd00:ec2::23]/v1/credentials",
            "https://127.0.0.1/credentials",
        ] {
            assert!(client(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://credentials.attacker.example/",
            "https://credentials.attacker.example/",
            "http://127.0.0.1.attacker.example/",
            "http://10.0.0.7/credentials",
            "http://169.254.169.254/latest/meta-data/",
            "http://169.254.170.3/",
            "http://[fd00:ec2::24]/",
            "file:///etc/passwd",
            "not a url",
        ] {
            assert!(matches!(client(bad), Err(AwsError::Setup(_))), "{bad}");
        }
        let source = AwsCredentialSource::Container {
            uri: "http://127.0.0.1/".into(),
            token: Some("container-token-value".into()),
        };
        assert!(!format!("{source:?}").contains("container-token-value"));
    }

    /// Issue 27 hardening: an endpoint override is https unless it is a local emulator.
    #[test]
    fn aws_endpoint_overrides_need_https_unless_loopback() {
        for var in [
            "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_SECRETS_MANAGER",
            "AWS_ENDPOINT_URL_SSM",
        ] {
            let client = |url: &str| {
                AwsClient::from_env(&env_of(vec![
                    ("AWS_REGION", "eu-west-1".into()),
                    ("AWS_ACCESS_KEY_ID", "a".into()),
                    ("AWS_SECRET_ACCESS_KEY", "b".into()),
                    (var, url.into()),
                ]))
            };
            for ok in [
                "https://vpce-1.secretsmanager.eu-west-1.vpce.amazonaws.com",
                "https://emulator.example:4566/",
                "http://127.0.0.1:4566",
                "http://localhost:4566/",
                "http://[::1]:4566",
            ] {
                assert!(client(ok).is_ok(), "{var}={ok}");
            }
            for bad in [
                "http://emulator.example:4566",
                "http://10.0.0.5:4566",
                "ftp://127.0.0.1/",
                "not a url",
            ] {
                match client(bad) {
                    Err(AwsError::Setup(reason)) => assert!(reason.contains(var), "{reason}"),
                    other => panic!("{var}={bad}: {:?}", other.map(|_| ())),
                }
            }
        }
    }

    #[test]
    fn endpoints_follow_the_region_and_the_overrides() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let base: &[(&str, &str)] = &[
            ("AWS_REGION", "eu-west-1"),
            ("AWS_ACCESS_KEY_ID", "a"),
            ("AWS_SECRET_ACCESS_KEY", "b"),
        ];
        let client = AwsClient::from_env(&env(base)).expect("client");
        assert_eq!(
            client.endpoint_of(Service::SecretsManager),
            "https://secretsmanager.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            client.endpoint_of(Service::Ssm),
            "https://ssm.eu-west-1.amazonaws.com"
        );
        let china: &[(&str, &str)] = &[
            ("AWS_REGION", "cn-north-1"),
            ("AWS_ACCESS_KEY_ID", "a"),
            ("AWS_SECRET_ACCESS_KEY", "b"),
            ("AWS_ENDPOINT_URL_SSM", "http://127.0.0.1:4566/"),
        ];
        let client = AwsClient::from_env(&env(china)).expect("client");
        assert_eq!(
            client.endpoint_of(Service::SecretsManager),
            "https://secretsmanager.cn-north-1.amazonaws.com.cn"
        );
        assert_eq!(client.endpoint_of(Service::Ssm), "http://127.0.0.1:4566");
        assert!(matches!(
            AwsClient::from_env(&env(&[("AWS_REGION", "eu-west-1")])),
            Err(AwsError::Setup(_))
        ));
        assert!(matches!(
            AwsClient::from_env(&env(&[
                ("AWS_ACCESS_KEY_ID", "a"),
                ("AWS_SECRET_ACCESS_KEY", "b")
            ])),
            Err(AwsError::Setup(_))
        ));
    }
}
