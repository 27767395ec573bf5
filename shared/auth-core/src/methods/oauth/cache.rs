//! The `oauth` method's result caches (`AUTH_RESULT_CACHE_*`): what the store said about a
//! JWT's client, session, audience and user, and about an opaque token.

use sha2::{Digest, Sha256};

use crate::identity::{OAuthSubject, OAuthTokenRecord};
use crate::result_cache::{Cached, ResultCache};
use crate::store::port::{OAuthSubjectLookup, StoreError};

/// The result caches of the `oauth` method.
#[derive(Debug)]
pub(super) struct StoreAnswers {
    pub(super) subjects: ResultCache<Box<OAuthSubject>>,
    pub(super) tokens: ResultCache<Option<Box<OAuthTokenRecord>>>,
}

impl Cached for Box<OAuthSubject> {
    fn is_negative(&self) -> bool {
        false
    }
}

/// `None`: no row has the hash (kept for the negative TTL).
impl Cached for Option<Box<OAuthTokenRecord>> {
    fn is_negative(&self) -> bool {
        self.is_none()
    }
}

/// The cache key of what a JWT names: every part length-prefixed, so no two lookups share one.
pub(super) fn subject_key(lookup: &OAuthSubjectLookup<'_>) -> [u8; 32] {
    let mut hash = Sha256::new();
    let mut part = |value: &str| {
        hash.update((value.len() as u64).to_be_bytes());
        hash.update(value.as_bytes());
    };
    part(lookup.client_id);
    part(lookup.user_id.unwrap_or("\0none"));
    part(lookup.session_id.unwrap_or("\0none"));
    for audience in lookup.audiences {
        part(audience);
    }
    hash.finalize().into()
}

/// A store answer from `cache` when fresh, else from `ask` (and kept). Errors are never kept.
pub(super) async fn cached<V, F, Fut>(
    cache: &ResultCache<V>,
    key: [u8; 32],
    ask: F,
) -> Result<V, StoreError>
where
    V: Cached,
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<V, StoreError>>,
{
    if !cache.is_enabled() {
        return ask().await;
    }
    if let Some(hit) = cache.get(&key, std::time::Instant::now()) {
        crate::telemetry::metrics::count(crate::telemetry::metrics::Tally::ResultCacheHit);
        return Ok(hit);
    }
    let answer = ask().await?;
    cache.put(key, answer.clone(), std::time::Instant::now());
    Ok(answer)
}
