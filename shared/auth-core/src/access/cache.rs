//! Organizations' roles with their dynamic `organizationRole` rows merged in, reused for a
//! bounded time (`BETTER_AUTH_ORGANIZATION_ROLES_CACHE_TTL_MS`): a role edited in Better Auth
//! applies here within that time.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lru::LruCache;

use super::roles::Roles;

/// How many organizations' roles one container keeps.
const CAPACITY: usize = 1024;

/// Merged roles per organization id, each for at most the configured time.
#[derive(Debug)]
pub struct RolesCache {
    ttl: Duration,
    entries: Mutex<LruCache<String, (Instant, Arc<Roles>)>>,
}

impl RolesCache {
    /// A cache keeping entries for `ttl` (zero: none kept).
    pub fn new(ttl: Duration) -> Self {
        let capacity = NonZeroUsize::new(CAPACITY).unwrap_or(NonZeroUsize::MIN);
        Self {
            ttl,
            entries: Mutex::new(LruCache::new(capacity)),
        }
    }

    /// The roles read for `organization_id` less than the TTL ago.
    pub fn get(&self, organization_id: &str, now: Instant) -> Option<Arc<Roles>> {
        let mut entries = self.entries.lock().ok()?;
        match entries.get(organization_id) {
            Some((read, roles)) if now.duration_since(*read) < self.ttl => Some(Arc::clone(roles)),
            Some(_) => {
                entries.pop(organization_id);
                None
            }
            None => None,
        }
    }

    /// Keeps `roles`, read at `read`, for `organization_id`.
    pub fn put(&self, organization_id: &str, read: Instant, roles: Arc<Roles>) {
        if self.ttl.is_zero() {
            return;
        }
        if let Ok(mut entries) = self.entries.lock() {
            entries.put(organization_id.to_owned(), (read, roles));
        }
    }
}

impl Clone for RolesCache {
    /// A fresh, empty cache with the same bound.
    fn clone(&self) -> Self {
        Self::new(self.ttl)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_after_the_ttl() {
        let cache = RolesCache::new(Duration::from_secs(10));
        let t0 = Instant::now();
        cache.put("org", t0, Arc::new(Roles::new()));
        assert!(cache.get("org", t0 + Duration::from_secs(9)).is_some());
        assert!(cache.get("org", t0 + Duration::from_secs(10)).is_none());
        assert!(
            cache.get("org", t0).is_none(),
            "an expired entry is dropped"
        );
        let off = RolesCache::new(Duration::ZERO);
        off.put("org", t0, Arc::new(Roles::new()));
        assert!(off.get("org", t0).is_none());
    }
}
