//! `session`: the session token (bearer, signed bearer or signed cookie) looked up in the store,
//! through the optional result cache. Always current: a revocation or ban is seen at once (or
//! within `AUTH_RESULT_CACHE_TTL_MS` when that cache is on).

use std::time::Instant;

use chrono::Utc;

use super::{Claim, Common, Context, CredentialMethod, MethodName, Precedence, Verdict};
use crate::authenticator::Authenticated;
use crate::config::{ConfigError, Env};
use crate::credentials::{self, Credential, CredentialError, RawCredentials};
use crate::error::AuthError;
use crate::identity::{self, Refusal, SessionRecord};
use crate::result_cache::{self, CacheLimits, Lookup, ResultCache};
use crate::store::{AuthStore, StoreError};
use crate::telemetry::fingerprint;

/// `session`'s settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSettings {
    /// The in-process cache of lookups (`AUTH_RESULT_CACHE_*`; off by default).
    pub result_cache: CacheLimits,
}

/// Looks the session token up.
#[derive(Debug)]
pub struct SessionMethod {
    results: ResultCache,
}

impl SessionMethod {
    /// The result cache (disabled unless `AUTH_RESULT_CACHE_TTL_MS` is set).
    pub fn result_cache(&self) -> &ResultCache {
        &self.results
    }

    async fn find<S: AuthStore>(
        &self,
        token: &str,
        store: &S,
    ) -> Result<Option<SessionRecord>, StoreError> {
        if !self.results.is_enabled() {
            return store.find_session(token).await;
        }
        let key = result_cache::key(token);
        if let Some(hit) = self.results.get(&key, Instant::now()) {
            return Ok(match hit {
                Lookup::Found(record) => Some(record),
                Lookup::Unknown => None,
            });
        }
        let found = store.find_session(token).await?;
        let value = match &found {
            Some(record) => Lookup::Found(record.clone()),
            None => Lookup::Unknown,
        };
        self.results.put(key, value, Instant::now());
        Ok(found)
    }
}

impl CredentialMethod for SessionMethod {
    type Settings = SessionSettings;
    type Credential = Credential;
    const PRECEDENCE: Precedence = Precedence::Ordered;

    fn settings(env: &Env<'_>, _: &Common<'_>) -> Result<SessionSettings, ConfigError> {
        Ok(SessionSettings {
            result_cache: CacheLimits {
                ttl: env.millis("AUTH_RESULT_CACHE_TTL_MS", 0, 0, 3_600_000)?,
                negative_ttl: env.millis("AUTH_RESULT_CACHE_NEGATIVE_TTL_MS", 0, 0, 60_000)?,
                max_entries: env.number("AUTH_RESULT_CACHE_MAX_ENTRIES", 10_000, 1, 1_000_000)?,
            },
        })
    }

    fn new(settings: &SessionSettings) -> Result<Self, ConfigError> {
        Ok(Self {
            results: ResultCache::new(settings.result_cache),
        })
    }

    fn claim<S: AuthStore>(
        &self,
        request: &RawCredentials<'_>,
        context: &Context<'_, S>,
    ) -> Claim<Credential> {
        session_token(request, context)
    }

    fn fingerprint(credential: &Credential) -> String {
        fingerprint(&credential.token)
    }

    async fn verify<S: AuthStore>(
        &self,
        credential: &Credential,
        context: &Context<'_, S>,
    ) -> Verdict {
        let record = match self.find(&credential.token, context.store).await {
            Ok(Some(record)) => record,
            Ok(None) => {
                return Verdict::Decided(Err(AuthError::Refused {
                    reason: Refusal::Unknown,
                    user_id: None,
                }));
            }
            Err(error) => return Verdict::Unavailable(error.into()),
        };
        Verdict::Decided(match identity::check(&record, Utc::now(), context.policy) {
            Err(reason) => Err(AuthError::Refused {
                reason,
                user_id: Some(record.user_id),
            }),
            Ok(()) => Ok(Authenticated {
                identity: record.into(),
                source: credential.source,
                method: MethodName::Session,
            }),
        })
    }
}

/// The request's session token, signature checked: what `session` and `cookie-cache` claim.
pub(crate) fn session_token<S>(
    request: &RawCredentials<'_>,
    context: &Context<'_, S>,
) -> Claim<Credential> {
    let extracted = context
        .session_token
        .get_or_init(|| credentials::extract(request, context.extract));
    match extracted {
        Ok(credential) => Claim::Present(credential.clone()),
        Err(CredentialError::Missing) => Claim::Absent,
        Err(error) => Claim::Invalid(*error),
    }
}
