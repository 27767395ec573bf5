//! `session`: the session token (bearer, signed bearer or signed cookie) looked up in the store,
//! through the optional result cache. Always current: a revocation or ban is seen at once (or
//! within `AUTH_RESULT_CACHE_TTL_MS` when that cache is on).

use std::time::Instant;

use chrono::{DateTime, Utc};

use super::contract::{Claim, Common, Context, CredentialMethod, Precedence, Verdict, Verified};
use crate::credentials::{self, Credential, CredentialError, RawCredentials};
use crate::env::{ConfigError, Env};
use crate::error::AuthError;
use crate::identity::{self, Refusal, SessionRecord};
use crate::result_cache::{self, CacheLimits, Lookup, ResultCache};
use crate::store::port::{AuthStore, StoreError};
use crate::telemetry::fingerprint;

/// `session`'s settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSettings {
    /// The in-process cache of lookups (`AUTH_RESULT_CACHE_*`; off by default).
    pub result_cache: CacheLimits,
    /// Sliding refresh (`BETTER_AUTH_REFRESH_SESSIONS`; off by default: the authorizer stays
    /// read-only unless asked).
    pub refresh: Option<Refresh>,
}

/// Better Auth's `session.expiresIn` and `session.updateAge`, for extending sessions as its
/// `get-session` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refresh {
    /// `BETTER_AUTH_SESSION_EXPIRES_IN` (seconds, default 7 days).
    pub expires_in: chrono::Duration,
    /// `BETTER_AUTH_SESSION_UPDATE_AGE` (seconds, default 1 day).
    pub update_age: chrono::Duration,
}

impl Refresh {
    /// The new expiry when Better Auth would extend a session expiring at `expires_at` now
    /// (`expiresAt - expiresIn + updateAge <= now`), in milliseconds as Better Auth writes it.
    pub fn due(&self, expires_at: DateTime<Utc>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if expires_at - self.expires_in + self.update_age > now {
            return None;
        }
        let next = now + self.expires_in;
        DateTime::from_timestamp_millis(next.timestamp_millis())
    }
}

/// The session token and whether the request carries Better Auth's `dont_remember` cookie
/// (then, as Better Auth, the session is never extended).
#[derive(Debug, Clone)]
pub struct SessionCredential {
    /// The token.
    pub credential: Credential,
    /// A `…dont_remember` cookie came with it.
    pub dont_remember: bool,
}

/// Looks the session token up.
#[derive(Debug)]
pub struct SessionMethod {
    results: ResultCache,
    refresh: Option<Refresh>,
}

/// Whether the request carries Better Auth's `dont_remember` cookie (any prefix).
fn carries_dont_remember(cookies: &[&str]) -> bool {
    cookies.iter().any(|header| {
        header
            .split(';')
            .filter_map(|pair| pair.split_once('='))
            .any(|(name, _)| name.trim().ends_with(".dont_remember"))
    })
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
            crate::telemetry::metrics::count(crate::telemetry::metrics::Tally::ResultCacheHit);
            return Ok(match hit {
                Lookup::Found(record) => Some(*record),
                Lookup::Unknown => None,
            });
        }
        let found = store.find_session(token).await?;
        let value = match &found {
            Some(record) => Lookup::Found(Box::new(record.clone())),
            None => Lookup::Unknown,
        };
        self.results.put(key, value, Instant::now());
        Ok(found)
    }
}

impl CredentialMethod for SessionMethod {
    type Settings = SessionSettings;
    type Credential = SessionCredential;
    const PRECEDENCE: Precedence = Precedence::Ordered;

    fn settings(
        env: &Env<'_>,
        _: &Common<'_>,
        _configured: bool,
    ) -> Result<SessionSettings, ConfigError> {
        const DAY: i64 = 24 * 60 * 60;
        let refresh = if env.flag("BETTER_AUTH_REFRESH_SESSIONS", false)? {
            let expires_in = identity::session_expires_in(env)?;
            let update_age = env.number("BETTER_AUTH_SESSION_UPDATE_AGE", DAY, 0, 400 * DAY)?;
            Some(Refresh {
                expires_in: chrono::Duration::seconds(expires_in),
                update_age: chrono::Duration::seconds(update_age),
            })
        } else {
            None
        };
        Ok(SessionSettings {
            result_cache: CacheLimits::parse(env)?,
            refresh,
        })
    }

    fn new(settings: &SessionSettings) -> Result<Self, ConfigError> {
        Ok(Self {
            results: ResultCache::new(settings.result_cache),
            refresh: settings.refresh,
        })
    }

    fn claim<S: AuthStore>(
        &self,
        request: &RawCredentials<'_>,
        context: &Context<'_, S>,
    ) -> Claim<SessionCredential> {
        match session_token(request, context) {
            Claim::Present(credential) => Claim::Present(SessionCredential {
                dont_remember: self.refresh.is_some() && carries_dont_remember(&request.cookies),
                credential,
            }),
            Claim::Absent => Claim::Absent,
            Claim::Invalid(error) => Claim::Invalid(error),
        }
    }

    fn fingerprint(credential: &SessionCredential) -> String {
        fingerprint(&credential.credential.token)
    }

    async fn verify<S: AuthStore>(
        &self,
        session: &SessionCredential,
        context: &Context<'_, S>,
    ) -> Verdict {
        let credential = &session.credential;
        let mut record = match self.find(&credential.token, context.store).await {
            Ok(Some(record)) => record,
            Ok(None) => {
                return Verdict::Decided(Err(AuthError::Refused {
                    reason: Refusal::Unknown,
                    user_id: None,
                }));
            }
            Err(error) => return Verdict::Unavailable(error.into()),
        };
        let now = Utc::now();
        if let Err(reason) = identity::check(&record, now, context.policy) {
            return Verdict::Decided(Err(AuthError::Refused {
                reason,
                user_id: Some(record.user_id),
            }));
        }
        if let Some(next) = self
            .refresh
            .filter(|_| !session.dont_remember)
            .and_then(|refresh| refresh.due(record.expires_at, now))
        {
            // A side effect of a valid session: a failure is logged, never a refusal.
            match context
                .store
                .refresh_session(&credential.token, record.expires_at, next)
                .await
            {
                Ok(true) => {
                    record.expires_at = next;
                    if self.results.is_enabled() {
                        // The cached lookup carries the old expiry: replace it.
                        let key = result_cache::key(&credential.token);
                        self.results.put(
                            key,
                            Lookup::Found(Box::new(record.clone())),
                            Instant::now(),
                        );
                    }
                }
                Ok(false) => {}
                Err(error) => {
                    tracing::warn!(error = %error, "session refresh failed; the session stays as it was")
                }
            }
        }
        Verdict::Decided(Ok(Verified {
            identity: record.into(),
            source: credential.source,
        }))
    }
}

/// The request's session token, signature checked: what `session` and `cookie-cache` claim.
pub(crate) fn session_token<S>(
    request: &RawCredentials<'_>,
    context: &Context<'_, S>,
) -> Claim<Credential> {
    let extracted = context.session_token.get_or_init(|| {
        if context.bearer_owned_elsewhere {
            credentials::extract_from_cookies(request, context.extract)
        } else {
            credentials::extract(request, context.extract)
        }
    });
    match extracted {
        Ok(credential) => Claim::Present(credential.clone()),
        Err(CredentialError::Missing) => Claim::Absent,
        Err(error) => Claim::Invalid(*error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_due_as_better_auth_decides() {
        let refresh = Refresh {
            expires_in: chrono::Duration::seconds(3600),
            update_age: chrono::Duration::seconds(600),
        };
        let now: DateTime<Utc> = "2026-12-01T00:00:00.123456Z".parse().expect("date");
        // Refreshed 599 s ago: not due; 600 s ago: due (`<=`, as Better Auth).
        assert_eq!(
            refresh.due(now + chrono::Duration::seconds(3001), now),
            None
        );
        let next = refresh
            .due(now + chrono::Duration::seconds(3000), now)
            .expect("due");
        assert_eq!(
            next.timestamp_millis(),
            (now + refresh.expires_in).timestamp_millis()
        );
        assert_eq!(next.timestamp_subsec_micros() % 1000, 0, "milliseconds");
    }

    #[test]
    fn the_dont_remember_cookie_is_found_under_any_prefix() {
        assert!(carries_dont_remember(&["a=1; myapp.dont_remember=x.y"]));
        assert!(carries_dont_remember(&[
            "__Secure-better-auth.dont_remember=x"
        ]));
        assert!(!carries_dont_remember(&["better-auth.session_token=x"]));
    }
}
