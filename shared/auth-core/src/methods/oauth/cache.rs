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

/// The cache key of what a JWT names: every part tagged (present or not) and length-prefixed,
/// and the audiences counted, so no two lookups share one.
pub(super) fn subject_key(lookup: &OAuthSubjectLookup<'_>) -> [u8; 32] {
    let mut hash = Sha256::new();
    let mut part = |value: Option<&str>| match value {
        None => hash.update([0u8]),
        Some(value) => {
            hash.update([1u8]);
            hash.update((value.len() as u64).to_be_bytes());
            hash.update(value.as_bytes());
        }
    };
    part(Some(lookup.client_id));
    part(lookup.user_id);
    part(lookup.session_id);
    part(Some(&lookup.audiences.len().to_string()));
    for audience in lookup.audiences {
        part(Some(audience));
    }
    hash.finalize().into()
}

/// A store answer from `cache` when fresh (`key` computed only when the cache is on), else
/// from `ask` (and kept). Errors are never kept.
pub(super) async fn cached<V, F, Fut>(
    cache: &ResultCache<V>,
    key: impl FnOnce() -> [u8; 32],
    ask: F,
) -> Result<V, StoreError>
where
    V: Cached,
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<V, StoreError>>,
{
    // Off (the default): no key is even computed.
    if !cache.is_enabled() {
        return ask().await;
    }
    let key = key();
    if let Some(hit) = cache.get(&key, std::time::Instant::now()) {
        crate::telemetry::metrics::count(crate::telemetry::metrics::Tally::ResultCacheHit);
        return Ok(hit);
    }
    let answer = ask().await?;
    cache.put(key, answer.clone(), std::time::Instant::now());
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(user: Option<&str>, session: Option<&str>, audiences: &[&str]) -> [u8; 32] {
        let audiences: Vec<String> = audiences.iter().map(|a| (*a).to_owned()).collect();
        subject_key(&OAuthSubjectLookup {
            client_id: "c",
            user_id: user,
            session_id: session,
            audiences: &audiences,
        })
    }

    #[test]
    fn different_lookups_never_share_a_key() {
        let keys = [
            key(Some("u"), Some("s"), &["a"]),
            key(Some("u"), None, &["a"]),
            key(Some("u"), Some(""), &["a"]),
            key(Some("u"), Some("\0none"), &["a"]),
            key(None, Some("s"), &["a"]),
            key(Some("us"), None, &["a"]),
            key(Some("u"), Some("s"), &[]),
            key(Some("u"), Some("s"), &["a", "b"]),
            key(Some("u"), Some("s"), &["ab"]),
            key(Some("u"), Some("s"), &["b", "a"]),
        ];
        for (i, a) in keys.iter().enumerate() {
            for b in &keys[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(key(Some("u"), Some("s"), &["a"]), keys[0], "stable");
    }
}
