//! The jwt plugin's public keys, cached per container.
//!
//! Keys come from the `jwks` table of the shared database (no network: works in a VPC without
//! egress) or from a JWKS URL. They are loaded on first use, reloaded after
//! `BETTER_AUTH_JWKS_MAX_AGE_SECONDS`, and reloaded early when a token names an unknown `kid`, at
//! most once per `BETTER_AUTH_JWKS_REFETCH_SECONDS`, so a flood of made-up `kid`s costs one
//! fetch per interval, never one per request.
//!
//! When the key source is down, the last good keys keep serving for
//! `BETTER_AUTH_JWKS_STALE_SECONDS` past their max age, with at most one retry per refetch
//! interval: JWT decisions stay fast and correct through an outage, and fail closed after it.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tracing::Instrument as _;

use crate::jose::{Algorithm, Jwk, KeySet, PublicKey, VerificationKey};
use crate::store::port::{AuthStore, StoreError, StoredKey};
use crate::telemetry::RoundTrip;

/// Largest JWKS document we read.
pub const MAX_JWKS_BYTES: usize = 256 * 1024;

/// Where the keys are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// The `jwks` table next to the session table.
    Database,
    /// A JWKS endpoint, e.g. `https://auth.example.com/api/auth/jwks`.
    Url(String),
}

/// How keys are loaded and cached.
#[derive(Debug, Clone)]
pub struct KeySettings {
    /// Where.
    pub source: KeySource,
    /// Reload at most this often because of an unknown `kid`.
    pub refetch_interval: Duration,
    /// Reload after this long regardless (keys deleted upstream stop being trusted).
    pub max_age: Duration,
    /// The algorithm of table rows without an `alg` (Better Auth's `keyPairConfig.alg`).
    pub default_alg: Algorithm,
    /// Better Auth keeps expired keys valid for this long (`jwks.gracePeriod`, 30 days by
    /// default; `BETTER_AUTH_JWKS_GRACE_PERIOD_SECONDS`).
    pub grace_period: chrono::Duration,
    /// How long past `max_age` the last good keys still serve while reloads fail
    /// (`BETTER_AUTH_JWKS_STALE_SECONDS`, default 3600).
    pub stale_window: Duration,
    /// Timeout of one HTTP fetch.
    pub http_timeout: Duration,
}

/// Why keys could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The database could not answer.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The database has no jwks table.
    #[error("no jwks table: enable Better Auth's jwt plugin or set BETTER_AUTH_JWKS_TABLE")]
    NoTable,
    /// The JWKS URL could not be fetched or parsed.
    #[error("JWKS fetch failed: {0}")]
    Fetch(String),
}

#[derive(Default)]
struct State {
    keys: Arc<KeySet>,
    loaded_at: Option<Instant>,
    last_attempt: Option<Instant>,
}

/// The cached key set. One per container.
pub struct JwksCache {
    settings: KeySettings,
    state: Mutex<State>,
    fetch: tokio::sync::Mutex<()>,
    fetches: std::sync::atomic::AtomicU64,
    http: Option<reqwest::Client>,
}

impl std::fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksCache")
            .field("source", &self.settings.source)
            .finish_non_exhaustive()
    }
}

impl JwksCache {
    /// A store that has loaded nothing yet.
    pub fn new(settings: KeySettings) -> Result<Self, KeyError> {
        let http = match settings.source {
            KeySource::Database => None,
            KeySource::Url(_) => Some(http_client(settings.http_timeout)?),
        };
        Ok(Self {
            settings,
            state: Mutex::new(State::default()),
            fetch: tokio::sync::Mutex::new(()),
            fetches: std::sync::atomic::AtomicU64::new(0),
            http,
        })
    }

    /// How many times keys were (re)loaded: for tests and metrics.
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn snapshot(&self) -> (Arc<KeySet>, Option<Instant>, Option<Instant>) {
        match self.state.lock() {
            Ok(state) => (state.keys.clone(), state.loaded_at, state.last_attempt),
            Err(poisoned) => {
                let state = poisoned.into_inner();
                (state.keys.clone(), state.loaded_at, state.last_attempt)
            }
        }
    }

    fn fresh_enough(&self, kid: &str) -> Option<Arc<KeySet>> {
        let (keys, loaded_at, last_attempt) = self.snapshot();
        let now = Instant::now();
        let loaded_recently =
            loaded_at.is_some_and(|t| now.duration_since(t) < self.settings.max_age);
        if !loaded_recently {
            return None;
        }
        let tried_recently =
            last_attempt.is_some_and(|t| now.duration_since(t) < self.settings.refetch_interval);
        (keys.find(kid).is_some() || tried_recently).then_some(keys)
    }

    /// The key set to verify a token with `kid`: cached, or reloaded when stale or when the `kid`
    /// is unknown and the refetch interval allows. A failed reload keeps the last good keys.
    pub async fn keys_for<S: AuthStore>(
        &self,
        kid: &str,
        store: &S,
    ) -> Result<Arc<KeySet>, KeyError> {
        if let Some(keys) = self.fresh_enough(kid) {
            return Ok(keys);
        }
        let _guard = self.fetch.lock().await;
        // Another request may have reloaded while this one waited.
        if let Some(keys) = self.fresh_enough(kid) {
            return Ok(keys);
        }
        let (previous, loaded_at, last_attempt) = self.snapshot();
        let now = Instant::now();
        let usable = loaded_at.is_some_and(|t| {
            now.duration_since(t) < self.settings.max_age + self.settings.stale_window
        });
        let stale = loaded_at.is_none_or(|t| now.duration_since(t) >= self.settings.max_age);
        let tried_recently =
            last_attempt.is_some_and(|t| now.duration_since(t) < self.settings.refetch_interval);
        // A reload attempt failed since the last good load (or none ever succeeded).
        let failed_since = match (last_attempt, loaded_at) {
            (Some(attempt), Some(loaded)) => attempt > loaded,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if tried_recently && (!stale || failed_since) {
            // Within the refetch interval: serve what we have (fresh, or stale within the
            // window) rather than wait on a source that just failed; past the window, fail
            // closed at once.
            return if usable {
                Ok(previous)
            } else {
                Err(KeyError::Fetch(
                    "the key source failed recently; retrying after BETTER_AUTH_JWKS_REFETCH_SECONDS"
                        .into(),
                ))
            };
        }
        self.fetches
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let loaded = self.load(store).await;
        let mut state = match self.state.lock() {
            Ok(state) => state,
            Err(poisoned) => poisoned.into_inner(),
        };
        state.last_attempt = Some(now);
        match loaded {
            Ok(keys) => {
                tracing::info!(keys = keys.len(), kids = ?keys.kids().collect::<Vec<_>>(), "jwks loaded");
                state.keys = Arc::new(keys);
                state.loaded_at = Some(now);
                Ok(state.keys.clone())
            }
            Err(error) if usable => {
                tracing::warn!(error = %error, "jwks reload failed; keeping the last good keys");
                Ok(previous)
            }
            Err(error) => Err(error),
        }
    }

    async fn load<S: AuthStore>(&self, store: &S) -> Result<KeySet, KeyError> {
        crate::telemetry::metrics::count(crate::telemetry::metrics::Tally::JwksRefresh);
        match (&self.settings.source, &self.http) {
            (KeySource::Url(url), Some(client)) => {
                fetch_jwks(client, url, self.settings.default_alg)
                    .instrument(RoundTrip::JwksFetch.span())
                    .await
            }
            _ => {
                let rows = store.jwks().await?.ok_or(KeyError::NoTable)?;
                Ok(keys_from_rows(
                    &rows,
                    self.settings.default_alg,
                    self.settings.grace_period,
                    Utc::now(),
                ))
            }
        }
    }
}

/// The usable keys among `jwks` rows: unexpired (with Better Auth's grace period) and importable.
/// Rows that cannot be used are skipped with a warning naming their id.
pub fn keys_from_rows(
    rows: &[StoredKey],
    default_alg: Algorithm,
    grace_period: chrono::Duration,
    now: DateTime<Utc>,
) -> KeySet {
    let keys = rows
        .iter()
        .filter(|row| row.expires_at.is_none_or(|at| at + grace_period > now))
        .filter_map(|row| {
            VerificationKey::from_stored(&row.id, row.alg.as_deref(), &row.public_key, default_alg)
                .inspect_err(
                    |error| tracing::warn!(kid = %row.id, error = %error, "jwks row skipped"),
                )
                .ok()
        })
        .collect();
    KeySet::new(keys)
}

/// The usable keys of a JWKS document (`{"keys":[...]}`); keys without a `kid` are skipped.
pub fn keys_from_document(body: &[u8], default_alg: Algorithm) -> Result<KeySet, KeyError> {
    #[derive(serde::Deserialize)]
    struct Document {
        keys: Vec<serde_json::Value>,
    }
    let document: Document =
        serde_json::from_slice(body).map_err(|_| KeyError::Fetch("not a JWKS document".into()))?;
    let keys = document
        .keys
        .into_iter()
        .filter_map(|value| {
            let jwk: Jwk = serde_json::from_value(value).ok()?;
            let kid = jwk.kid.clone()?;
            let alg = match jwk.alg.as_deref() {
                Some(name) => Algorithm::parse(name)?,
                None => default_alg,
            };
            VerificationKey::new(kid, alg, PublicKey::from_jwk(&jwk).ok()?).ok()
        })
        .collect();
    Ok(KeySet::new(keys))
}

pub(crate) fn http_client(timeout: Duration) -> Result<reqwest::Client, KeyError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let tls = crate::tls::client_config(roots).map_err(|e| KeyError::Fetch(e.to_string()))?;
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| KeyError::Fetch(e.to_string()))
}

async fn fetch_jwks(
    client: &reqwest::Client,
    url: &str,
    default_alg: Algorithm,
) -> Result<KeySet, KeyError> {
    let fail = |e: reqwest::Error| KeyError::Fetch(e.without_url().to_string());
    let mut response = client.get(url).send().await.map_err(fail)?;
    if !response.status().is_success() {
        return Err(KeyError::Fetch(format!("status {}", response.status())));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(fail)? {
        if body.len() + chunk.len() > MAX_JWKS_BYTES {
            return Err(KeyError::Fetch("document too large".into()));
        }
        body.extend_from_slice(&chunk);
    }
    keys_from_document(&body, default_alg)
}

#[cfg(test)]
mod tests {
    use super::*;

    const X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

    fn row(id: &str, expires_at: Option<DateTime<Utc>>) -> StoredKey {
        StoredKey {
            id: id.into(),
            public_key: format!(r#"{{"crv":"Ed25519","x":"{X}","kty":"OKP"}}"#),
            alg: Some("EdDSA".into()),
            expires_at,
        }
    }

    #[test]
    fn rows_outside_the_grace_period_or_unusable_are_skipped() {
        let now = Utc::now();
        let grace = chrono::Duration::days(30);
        let mut broken = row("broken", None);
        broken.public_key = "{}".into();
        let mut wrong_alg = row("wrong-alg", None);
        wrong_alg.alg = Some("ES256".into());
        let mut legacy = row("legacy", None);
        legacy.alg = None;
        let rows = [
            row("live", None),
            row("rotated", Some(now - chrono::Duration::days(1))),
            row("gone", Some(now - chrono::Duration::days(31))),
            broken,
            wrong_alg,
            legacy,
        ];
        let keys = keys_from_rows(&rows, Algorithm::EdDSA, grace, now);
        assert_eq!(
            keys.kids().collect::<Vec<_>>(),
            ["live", "rotated", "legacy"]
        );
    }

    #[test]
    fn a_jwks_document_is_read_as_better_auth_serves_it() {
        let body = format!(
            r#"{{"keys":[{{"alg":"EdDSA","crv":"Ed25519","x":"{X}","kty":"OKP","kid":"k1"}},{{"kty":"OKP","crv":"Ed25519","x":"{X}"}},{{"alg":"HS256","kty":"oct","k":"c2VjcmV0","kid":"k3"}}]}}"#
        );
        let keys = keys_from_document(body.as_bytes(), Algorithm::EdDSA).expect("document");
        assert_eq!(keys.kids().collect::<Vec<_>>(), ["k1"]);
        assert!(keys_from_document(b"<html>", Algorithm::EdDSA).is_err());
    }
}
