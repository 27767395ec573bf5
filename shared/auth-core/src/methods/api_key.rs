//! `api-key`: Better Auth API keys (`@better-auth/api-key`), sent in `x-api-key` (or the
//! configured headers), verified and counted exactly as the plugin's `verifyApiKey` does it, in
//! the same `apikey` rows, so a key's quota and rate limit hold whichever side checks it.
//!
//! The key is hashed as Better Auth hashes it (base64url, no padding, of SHA-256 over the whole
//! key, prefix included) and used in one guarded statement
//! ([`crate::store::postgres::lookups::ApiKeyUse`]). Stricter than Better Auth: the owner must
//! exist, must not be banned, and must meet `BETTER_AUTH_REQUIRE_EMAIL_VERIFIED`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use sha2::{Digest, Sha256};

use super::contract::{Claim, Common, Context, CredentialMethod, Precedence, Verdict, Verified};
use crate::credentials::{CredentialError, CredentialSource, RawCredentials};
use crate::env::{ConfigError, Env};
use crate::error::AuthError;
use crate::identity;
use crate::store::port::AuthStore;
use crate::telemetry::fingerprint;

/// The longest key read (Better Auth's default is 64 characters plus a prefix).
const MAX_KEY_LENGTH: usize = 512;

/// `api-key`'s settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeySettings {
    /// `BETTER_AUTH_API_KEY_HEADERS`: the headers that carry a key (lower-case; default
    /// `x-api-key`, as the plugin's `apiKeyHeaders`).
    pub headers: Vec<String>,
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
        Ok(ApiKeySettings { headers })
    }

    fn new(settings: &ApiKeySettings) -> Result<Self, ConfigError> {
        Ok(Self {
            settings: settings.clone(),
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
        let found = context
            .store
            .use_api_key(&key.hash(), context.policy.require_email_verified)
            .await;
        let record = match found {
            Ok(record) => record,
            Err(error) => return Verdict::Unavailable(error.into()),
        };
        let owner = record
            .as_ref()
            .and_then(|r| r.owner.as_ref())
            .map(|o| o.user_id.clone());
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
    fn the_debug_form_hides_the_key() {
        let key = ApiKey("secret-key-value".into());
        assert!(!format!("{key:?}").contains("secret"));
    }
}
