//! A bounded, per-container cache of session lookups (`AUTH_RESULT_CACHE_*`). Off by default.
//!
//! - Keyed by SHA-256 of the session token: the token itself is never kept.
//! - A hit is re-evaluated at the time of use, so an entry can never outlive the session's
//!   `expiresAt` or a ban's `banExpires`; what it can miss is a change made after the lookup
//!   (a revocation or a new ban), for at most the TTL.
//! - Unknown tokens may be cached negatively (a shorter TTL); database errors never are.
//! - Least recently used entries are evicted beyond `AUTH_RESULT_CACHE_MAX_ENTRIES`.

use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use lru::LruCache;
use sha2::{Digest, Sha256};

use crate::identity::SessionRecord;

/// How long, and how many.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheLimits {
    /// How long a found session is reused (zero: off).
    pub ttl: Duration,
    /// How long an unknown token is remembered as unknown (zero: off).
    pub negative_ttl: Duration,
    /// Most entries.
    pub max_entries: usize,
}

/// What a lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// A session (valid or not: it is evaluated again on every use); boxed, so an unknown
    /// token's entry stays small.
    Found(Box<SessionRecord>),
    /// No session has this token.
    Unknown,
}

struct Entry {
    value: Lookup,
    until: Instant,
}

/// The cache. Share one per container.
pub struct ResultCache {
    limits: CacheLimits,
    entries: Option<Mutex<LruCache<[u8; 32], Entry>>>,
}

impl std::fmt::Debug for ResultCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResultCache")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// The cache key of a token.
pub fn key(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl ResultCache {
    /// A cache with these limits; with both TTLs zero it stores nothing.
    pub fn new(limits: CacheLimits) -> Self {
        let enabled = !limits.ttl.is_zero() || !limits.negative_ttl.is_zero();
        let entries = NonZeroUsize::new(limits.max_entries)
            .filter(|_| enabled)
            .map(|cap| Mutex::new(LruCache::new(cap)));
        Self { limits, entries }
    }

    /// Whether anything is ever stored.
    pub fn is_enabled(&self) -> bool {
        self.entries.is_some()
    }

    /// How many entries are held (expired ones included until touched).
    pub fn len(&self) -> usize {
        self.entries
            .as_ref()
            .map_or(0, |m| m.lock().map_or(0, |c| c.len()))
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The cached lookup for `key`, when one is still fresh at `now`.
    pub fn get(&self, key: &[u8; 32], now: Instant) -> Option<Lookup> {
        let mut entries = self.entries.as_ref()?.lock().ok()?;
        match entries.get(key) {
            Some(entry) if entry.until > now => Some(entry.value.clone()),
            Some(_) => {
                entries.pop(key);
                None
            }
            None => None,
        }
    }

    /// Remembers a lookup made at `now` (found sessions for the TTL, unknown tokens for the
    /// negative TTL).
    pub fn put(&self, key: [u8; 32], value: Lookup, now: Instant) {
        let ttl = match value {
            Lookup::Found(_) => self.limits.ttl,
            Lookup::Unknown => self.limits.negative_ttl,
        };
        if ttl.is_zero() {
            return;
        }
        if let Some(Ok(mut entries)) = self.entries.as_ref().map(Mutex::lock) {
            entries.put(
                key,
                Entry {
                    value,
                    until: now + ttl,
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn record() -> SessionRecord {
        SessionRecord {
            session_id: "s".into(),
            user_id: "u".into(),
            expires_at: chrono::DateTime::<Utc>::UNIX_EPOCH,
            impersonated_by: None,
            revoked: false,
            email: String::new(),
            name: String::new(),
            email_verified: false,
            role: None,
            banned: None,
            ban_expires: None,
            impersonator_banned: None,
            impersonator_ban_expires: None,
            extras: Vec::new(),
            organization: None,
        }
    }

    fn limits(ttl: u64, negative: u64, max: usize) -> CacheLimits {
        CacheLimits {
            ttl: Duration::from_millis(ttl),
            negative_ttl: Duration::from_millis(negative),
            max_entries: max,
        }
    }

    #[test]
    fn entries_expire_after_their_ttl() {
        let cache = ResultCache::new(limits(1000, 100, 10));
        let now = Instant::now();
        cache.put(key("a"), Lookup::Found(Box::new(record())), now);
        cache.put(key("b"), Lookup::Unknown, now);
        assert_eq!(
            cache.get(&key("a"), now),
            Some(Lookup::Found(Box::new(record())))
        );
        assert_eq!(cache.get(&key("b"), now), Some(Lookup::Unknown));
        let later = now + Duration::from_millis(500);
        assert_eq!(
            cache.get(&key("b"), later),
            None,
            "negative entries are shorter"
        );
        assert!(cache.get(&key("a"), later).is_some());
        assert_eq!(
            cache.get(&key("a"), now + Duration::from_millis(1000)),
            None
        );
    }

    #[test]
    fn the_cache_is_bounded_and_can_be_off() {
        let cache = ResultCache::new(limits(1000, 0, 2));
        let now = Instant::now();
        for token in ["a", "b", "c"] {
            cache.put(key(token), Lookup::Found(Box::new(record())), now);
        }
        assert_eq!(cache.len(), 2);
        assert_eq!(
            cache.get(&key("a"), now),
            None,
            "least recently used went first"
        );
        cache.put(key("d"), Lookup::Unknown, now);
        assert_eq!(cache.get(&key("d"), now), None, "negative caching is off");

        let off = ResultCache::new(limits(0, 0, 100));
        assert!(!off.is_enabled());
        off.put(key("a"), Lookup::Found(Box::new(record())), now);
        assert_eq!(off.get(&key("a"), now), None);
    }
}
