//! A bounded, per-container cache of lookups (`AUTH_RESULT_CACHE_*`): sessions, and what the
//! `oauth` method reads about a token. Off by default.
//!
//! - Keyed by SHA-256 of the session token (or of what an OAuth lookup names): the token itself
//!   is never kept.
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

use crate::env::{ConfigError, Env};
use crate::identity::SessionRecord;

/// How long, and how many (default: off).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheLimits {
    /// How long a found answer (a session, an OAuth token's state) is reused (zero: off).
    pub ttl: Duration,
    /// How long an answer that found nothing is remembered (zero: off).
    pub negative_ttl: Duration,
    /// Most entries.
    pub max_entries: usize,
}

impl CacheLimits {
    /// `AUTH_RESULT_CACHE_TTL_MS` (0: off), `AUTH_RESULT_CACHE_NEGATIVE_TTL_MS` (0: off),
    /// `AUTH_RESULT_CACHE_MAX_ENTRIES` (10 000).
    pub fn parse(env: &Env<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            ttl: env.millis("AUTH_RESULT_CACHE_TTL_MS", 0, 0, 3_600_000)?,
            negative_ttl: env.millis("AUTH_RESULT_CACHE_NEGATIVE_TTL_MS", 0, 0, 60_000)?,
            max_entries: env.number("AUTH_RESULT_CACHE_MAX_ENTRIES", 10_000, 1, 1_000_000)?,
        })
    }
}

/// A value the cache keeps: a negative one (nothing found) lives for the negative TTL.
pub trait Cached: Clone {
    /// Whether this says "nothing found".
    fn is_negative(&self) -> bool;
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

impl Cached for Lookup {
    fn is_negative(&self) -> bool {
        matches!(self, Self::Unknown)
    }
}

struct Entry<V> {
    value: V,
    until: Instant,
}

/// The cache. Share one per container.
pub struct ResultCache<V: Cached = Lookup> {
    limits: CacheLimits,
    entries: Option<Mutex<LruCache<[u8; 32], Entry<V>>>>,
}

impl<V: Cached> std::fmt::Debug for ResultCache<V> {
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

impl<V: Cached> ResultCache<V> {
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
    pub fn get(&self, key: &[u8; 32], now: Instant) -> Option<V> {
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

    /// Remembers a lookup made at `now` (found answers for the TTL, negative ones for the
    /// negative TTL).
    pub fn put(&self, key: [u8; 32], value: V, now: Instant) {
        let ttl = match value.is_negative() {
            false => self.limits.ttl,
            true => self.limits.negative_ttl,
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
