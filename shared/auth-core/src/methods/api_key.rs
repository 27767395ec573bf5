//! `api-key`: Better Auth API keys (`@better-auth/api-key`), sent in `x-api-key` (or the
//! configured headers), verified and counted exactly as the plugin's `verifyApiKey` does it, in
//! the same `apikey` rows, so a key's quota and rate limit hold whichever side checks it.
//!
//! The key is hashed as Better Auth hashes it (base64url, no padding, of SHA-256 over the whole
//! key, prefix included) and used in one guarded statement
//! ([`crate::store::postgres::lookups::ApiKeyUse`]). Stricter than Better Auth: the owner must
//! exist, must not be banned, and must meet `BETTER_AUTH_REQUIRE_EMAIL_VERIFIED` and
//! `BETTER_AUTH_REFUSE_ANONYMOUS` (in the statement's guard: a refused use is not counted).
//!
//! Only keys of the configurations `BETTER_AUTH_API_KEY_CONFIGS` names are accepted. A key's
//! `referenceId` is an organization id when its configuration says `references:
//! "organization"`: such a key is a machine principal of that organization (which must exist),
//! with no user, and never resolves to the user who happens to share that id (issue 27 F1).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use sha2::{Digest, Sha256};

use super::contract::{Claim, Common, Context, CredentialMethod, Precedence, Verdict, Verified};
use crate::credentials::{CredentialError, CredentialSource, RawCredentials};
use crate::env::{ConfigError, Env, invalid};
use crate::error::AuthError;
use crate::identity::{self, KeyOwner, Refusal};
use crate::store::port::{AuthStore, KeyUseGuard};
use crate::telemetry::fingerprint;

/// The longest key read (Better Auth's default is 64 characters plus a prefix).
const MAX_KEY_LENGTH: usize = 512;

/// The configuration Better Auth uses for a key whose `configId` is null or empty.
pub const DEFAULT_CONFIG_ID: &str = "default";

/// `api-key`'s settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeySettings {
    /// `BETTER_AUTH_API_KEY_HEADERS`: the headers that carry a key (lower-case; default
    /// `x-api-key`, as the plugin's `apiKeyHeaders`).
    pub headers: Vec<String>,
    /// `BETTER_AUTH_API_KEY_CONFIGS`: the plugin's configurations whose keys are accepted
    /// (default: `[{"configId":"default"}]`).
    pub configs: Vec<ApiKeyConfig>,
}

impl Default for ApiKeySettings {
    fn default() -> Self {
        Self {
            headers: vec!["x-api-key".to_owned()],
            configs: vec![ApiKeyConfig {
                config_id: DEFAULT_CONFIG_ID.to_owned(),
                references: References::User,
            }],
        }
    }
}

impl ApiKeySettings {
    /// The configurations whose keys act as their user (`references: "user"`): the `configId`s
    /// the key statement and the key routes accept (`default` stands for a null `configId`).
    pub fn user_config_ids(&self) -> Vec<String> {
        self.configs
            .iter()
            .filter(|c| c.references == References::User)
            .map(|c| c.config_id.clone())
            .collect()
    }

    /// The configurations whose keys are an organization's (`references: "organization"`).
    pub fn organization_config_ids(&self) -> Vec<String> {
        self.configs
            .iter()
            .filter(|c| c.references == References::Organization)
            .map(|c| c.config_id.clone())
            .collect()
    }
}

/// One of the api-key plugin's configurations, as `BETTER_AUTH_API_KEY_CONFIGS` names it (the
/// plugin's own `configId` and `references`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ApiKeyConfig {
    /// `configId`, as stored in the key's row (`default`: also a null one).
    pub config_id: String,
    /// `references` (default `user`): whose id a key's `referenceId` is.
    #[serde(default)]
    pub references: References,
}

/// Whose id a key's `referenceId` is (the plugin's `references`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum References {
    /// A user's: the key acts as that user.
    #[default]
    User,
    /// An organization's: the key is a machine principal of that organization, never a user.
    Organization,
}

/// Parses `BETTER_AUTH_API_KEY_CONFIGS` (unset: the default configuration alone).
fn parse_configs(value: Option<&str>) -> Result<Vec<ApiKeyConfig>, ConfigError> {
    const VAR: &str = "BETTER_AUTH_API_KEY_CONFIGS";
    let Some(value) = value else {
        return Ok(ApiKeySettings::default().configs);
    };
    let configs: Vec<ApiKeyConfig> = serde_json::from_str(value).map_err(|e| {
        invalid(
            VAR,
            format!(
                "expected a JSON array like [{{\"configId\":\"default\"}},{{\"configId\":\"org\",\"references\":\"organization\"}}] (keys: configId, references): {e}"
            ),
        )
    })?;
    if configs.is_empty() {
        return Err(invalid(VAR, "name at least one configuration"));
    }
    for (i, config) in configs.iter().enumerate() {
        if config.config_id.trim().is_empty() {
            return Err(invalid(VAR, "every configuration needs a configId"));
        }
        if configs[..i].iter().any(|c| c.config_id == config.config_id) {
            return Err(invalid(VAR, "configId must be unique"));
        }
    }
    Ok(configs)
}

/// An API key as sent (never logged: its fingerprint is).
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiKey({})", fingerprint(&self.0))
    }
}

impl ApiKey {
    /// Better Auth's stored form: base64url (no padding) of SHA-256 over the whole key.
    pub fn hash(&self) -> String {
        hash_key(&self.0)
    }
}

/// Better Auth's `defaultKeyHasher`.
pub fn hash_key(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(key.as_bytes()))
}

/// Verifies and counts API keys.
#[derive(Debug)]
pub struct ApiKeyMethod {
    settings: ApiKeySettings,
    /// [`ApiKeySettings::user_config_ids`], once.
    user_configs: Vec<String>,
    /// [`ApiKeySettings::organization_config_ids`], once.
    organization_configs: Vec<String>,
}

impl CredentialMethod for ApiKeyMethod {
    type Settings = ApiKeySettings;
    type Credential = ApiKey;
    // A request that carries a key is decided by the key alone.
    const PRECEDENCE: Precedence = Precedence::Exclusive;

    fn settings(
        env: &Env<'_>,
        _: &Common<'_>,
        _configured: bool,
    ) -> Result<ApiKeySettings, ConfigError> {
        const VAR: &str = "BETTER_AUTH_API_KEY_HEADERS";
        let headers: Vec<String> = env
            .get(VAR)
            .unwrap_or_else(|| "x-api-key".to_owned())
            .split(',')
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .collect();
        let token = |h: &String| {
            h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_!#$%&'*+.^`|~".contains(&b))
        };
        if headers.is_empty() || !headers.iter().all(token) {
            return Err(ConfigError::Invalid {
                var: VAR,
                reason: "expected header names, comma-separated (default x-api-key)".into(),
            });
        }
        if headers
            .iter()
            .any(|h| h == "authorization" || h == "cookie")
        {
            return Err(ConfigError::Invalid {
                var: VAR,
                reason: "Authorization and Cookie carry sessions and JWTs".into(),
            });
        }
        let configs = parse_configs(env.get("BETTER_AUTH_API_KEY_CONFIGS").as_deref())?;
        Ok(ApiKeySettings { headers, configs })
    }

    fn new(settings: &ApiKeySettings) -> Result<Self, ConfigError> {
        Ok(Self {
            settings: settings.clone(),
            user_configs: settings.user_config_ids(),
            organization_configs: settings.organization_config_ids(),
        })
    }

    fn claim<S: AuthStore>(
        &self,
        request: &RawCredentials<'_>,
        _: &Context<'_, S>,
    ) -> Claim<ApiKey> {
        let mut values = request.api_keys.iter().map(|v| v.trim());
        let Some(first) = values.next() else {
            return Claim::Absent;
        };
        if values.any(|other| other != first) {
            return Claim::Invalid(CredentialError::Conflicting);
        }
        if first.is_empty() {
            return Claim::Invalid(CredentialError::Empty);
        }
        if first.len() > MAX_KEY_LENGTH {
            return Claim::Invalid(CredentialError::TooLong);
        }
        // Keys are printable ASCII: a NUL or control character is never one.
        if !first.bytes().all(|b| b.is_ascii_graphic()) {
            return Claim::Invalid(CredentialError::Malformed);
        }
        Claim::Present(ApiKey(first.to_owned()))
    }

    fn fingerprint(key: &ApiKey) -> String {
        fingerprint(&key.0)
    }

    /// `x-api-key`, or the headers named in `BETTER_AUTH_API_KEY_HEADERS`.
    fn extra_headers(&self) -> &[String] {
        &self.settings.headers
    }

    async fn verify<S: AuthStore>(&self, key: &ApiKey, context: &Context<'_, S>) -> Verdict {
        // A user's key confirms no organization: with the organization rule every key is
        // refused, before the statement, so that the refusal spends no quota or rate limit.
        if context.policy.require_active_organization {
            return Verdict::Decided(Err(AuthError::Refused {
                reason: Refusal::NoActiveOrganization,
                user_id: None,
            }));
        }
        let guard = KeyUseGuard {
            user_configs: &self.user_configs,
            organization_configs: &self.organization_configs,
            require_email_verified: context.policy.require_email_verified,
            refuse_anonymous: context.policy.refuse_anonymous,
        };
        let found = context.store.use_api_key(&key.hash(), &guard).await;
        let record = match found {
            Ok(record) => record,
            Err(error) => return Verdict::Unavailable(error.into()),
        };
        let owner = match record.as_ref().and_then(|r| r.owner.as_ref()) {
            Some(KeyOwner::User(user)) => Some(user.user_id.clone()),
            Some(KeyOwner::Organization { .. }) | None => None,
        };
        Verdict::Decided(
            match identity::evaluate_api_key(record, Utc::now(), context.policy) {
                Ok(identity) => Ok(Verified {
                    identity,
                    source: CredentialSource::ApiKey,
                }),
                Err(reason) => Err(AuthError::Refused {
                    reason,
                    user_id: owner,
                }),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_hashed_as_better_auth_hashes_them() {
        // base64url(SHA-256("abc")), no padding.
        assert_eq!(
            hash_key("abc"),
            "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
        );
    }

    #[test]
    fn configurations_mirror_the_plugins_array() {
        let configs = |v: &str| parse_configs(Some(v));
        assert_eq!(
            parse_configs(None).map(|c| ApiKeySettings {
                headers: vec!["x-api-key".into()],
                configs: c
            }),
            Ok(ApiKeySettings::default())
        );
        let both = configs(
            r#"[{"configId":"default"},{"configId":"org","references":"organization"},{"configId":"ci","references":"user"}]"#,
        )
        .expect("valid");
        let settings = ApiKeySettings {
            headers: vec![],
            configs: both,
        };
        assert_eq!(settings.user_config_ids(), ["default", "ci"]);
        assert_eq!(settings.organization_config_ids(), ["org"]);
        for bad in [
            "not json",
            "{}",
            "[]",
            r#"[{"configId":""}]"#,
            r#"[{"references":"user"}]"#,
            r#"[{"configId":"a","references":"team"}]"#,
            r#"[{"configId":"a","apiKeyHeaders":"x"}]"#,
            r#"[{"configId":"a"},{"configId":"a"}]"#,
        ] {
            match configs(bad) {
                Err(ConfigError::Invalid { var, .. }) => {
                    assert_eq!(var, "BETTER_AUTH_API_KEY_CONFIGS", "{bad}")
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn the_debug_form_hides_the_key() {
        let key = ApiKey("secret-key-value".into());
        assert!(!format!("{key:?}").contains("secret"));
    }
}
