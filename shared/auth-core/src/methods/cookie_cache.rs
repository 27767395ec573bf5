//! `cookie-cache`: Better Auth's cookie cache (`<prefix>.session_data`), verified with the secret
//! (or the jwt plugin's keys) without a lookup. Any miss passes to the next method; a refusal
//! read from a cache that may be minutes old is not final either.

use chrono::Utc;

use super::contract::{Claim, Common, Context, CredentialMethod, Precedence, Verdict, Verified};
use crate::credentials::{self, Credential, CredentialSource, RawCredentials};
use crate::env::{ConfigError, Env};
use crate::identity;
use crate::jose::{self, JweKey};
use crate::session_data::{self, CacheMiss, CacheSettings, Strategy};
use crate::store::port::AuthStore;
use crate::telemetry::fingerprint;

/// `cookie-cache`'s settings.
#[derive(Debug, Clone)]
pub struct CookieCacheSettings {
    /// How to read the cache (strategy, version, secrets, issuer, leeway).
    pub cache: CacheSettings,
    /// The cache cookie's names: `<prefix>.session_data` and its `__Secure-` form.
    pub cookie_names: Vec<String>,
}

/// Reads the cookie cache.
#[derive(Debug)]
pub struct CookieCacheMethod {
    settings: CookieCacheSettings,
}

/// The session cookie, and the cache cookie next to it (when there is one).
#[derive(Debug)]
pub struct CachedSession {
    session: Credential,
    cache: Option<String>,
}

impl CredentialMethod for CookieCacheMethod {
    type Settings = CookieCacheSettings;
    type Credential = CachedSession;
    const PRECEDENCE: Precedence = Precedence::Ordered;

    fn settings(
        env: &Env<'_>,
        common: &Common<'_>,
        _configured: bool,
    ) -> Result<CookieCacheSettings, ConfigError> {
        const STRATEGY: &str = "BETTER_AUTH_COOKIE_CACHE_STRATEGY";
        let strategy = match env.get(STRATEGY) {
            None => Strategy::Compact,
            Some(v) => Strategy::parse(v.trim()).ok_or_else(|| ConfigError::Invalid {
                var: STRATEGY,
                reason: "expected compact, jwt or jwe".into(),
            })?,
        };
        let secret = common
            .secrets
            .first()
            .cloned()
            .ok_or(ConfigError::Missing("BETTER_AUTH_SECRET"))?;
        Ok(CookieCacheSettings {
            cache: CacheSettings {
                strategy,
                version: env
                    .get("BETTER_AUTH_COOKIE_CACHE_VERSION")
                    .unwrap_or_else(|| "1".into()),
                secret,
                jwe_keys: common
                    .secrets
                    .iter()
                    .map(|s| JweKey::derive(s.bytes(), session_data::JWE_SALT))
                    .collect(),
                plugin_issuer: common
                    .base_url
                    .map_or_else(|| "better-auth:session-cache".into(), str::to_owned),
                leeway_seconds: common.leeway_seconds,
            },
            cookie_names: common.cache_cookie_names.to_vec(),
        })
    }

    fn new(settings: &CookieCacheSettings) -> Result<Self, ConfigError> {
        Ok(Self {
            settings: settings.clone(),
        })
    }

    fn claim<S: AuthStore>(
        &self,
        request: &RawCredentials<'_>,
        context: &Context<'_, S>,
    ) -> Claim<CachedSession> {
        match super::session::session_token(request, context) {
            Claim::Present(session) => {
                let cache = (session.source == CredentialSource::Cookie)
                    .then(|| {
                        credentials::cookie_cache_value(
                            &request.cookies,
                            &self.settings.cookie_names,
                        )
                    })
                    .flatten();
                Claim::Present(CachedSession { session, cache })
            }
            Claim::Absent => Claim::Absent,
            Claim::Invalid(error) => Claim::Invalid(error),
        }
    }

    fn fingerprint(credential: &CachedSession) -> String {
        fingerprint(&credential.session.token)
    }

    async fn verify<S: AuthStore>(
        &self,
        credential: &CachedSession,
        context: &Context<'_, S>,
    ) -> Verdict {
        match self.read(credential, context).await {
            Ok(found) => Verdict::Decided(Ok(found)),
            Err(miss) => {
                tracing::debug!(reason = miss.code(), "cookie cache not used");
                Verdict::Pass(miss.code())
            }
        }
    }
}

impl CookieCacheMethod {
    async fn read<S: AuthStore>(
        &self,
        credential: &CachedSession,
        context: &Context<'_, S>,
    ) -> Result<Verified, CacheMiss> {
        let value = credential.cache.as_deref().ok_or(CacheMiss::Absent)?;
        let settings = &self.settings.cache;
        let keys = match session_data::plugin_key_id(value, settings) {
            Some(kid) => context
                .keys
                .keys_for(&kid, context.store)
                .await
                .map_err(|error| {
                    tracing::warn!(error = %error, "jwt plugin keys unavailable for the cookie cache");
                    CacheMiss::Invalid(jose::JoseError::UnknownKey)
                })?,
            None => Default::default(),
        };
        let now = Utc::now();
        let record = session_data::decode(value, settings, &keys, &credential.session.token, now)?;
        // A refusal read from a cache that may be minutes old is not final: the next method
        // (normally the store) decides. Without one, the request is refused.
        identity::check(&record, now, context.policy).map_err(|_| CacheMiss::Refused)?;
        Ok(Verified {
            identity: record.into(),
            source: credential.session.source,
        })
    }
}
