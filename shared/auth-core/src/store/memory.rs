//! An in-memory [`AuthStore`] for unit tests: sessions, bans and keys held in maps, and a
//! switch that makes every lookup fail as a database outage would.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::identity::{ApiKeyRecord, SessionRecord};
use crate::store::port::{AuthStore, OrganizationRoleRow, StoreError, StoredKey, UserBan};

/// Sessions (by token), users' bans (by id) and the jwt plugin's keys, in memory.
#[derive(Debug, Default)]
pub struct MemoryStore {
    sessions: Mutex<HashMap<String, SessionRecord>>,
    users: Mutex<HashMap<String, UserBan>>,
    keys: Mutex<Option<Vec<StoredKey>>>,
    api_keys: Mutex<HashMap<String, ApiKeyRecord>>,
    /// Organization id → its dynamic roles; `None`: no `organizationRole` table.
    organization_roles: Mutex<Option<HashMap<String, Vec<OrganizationRoleRow>>>>,
    down: AtomicBool,
    lookups: AtomicU64,
}

fn locked<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl MemoryStore {
    /// An empty store that answers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores a session under its token, and its user's ban fields.
    pub fn insert_session(&self, token: &str, record: SessionRecord) {
        locked(&self.users).insert(
            record.user_id.clone(),
            UserBan {
                banned: record.banned,
                ban_expires: record.ban_expires,
            },
        );
        locked(&self.sessions).insert(token.to_owned(), record);
    }

    /// Removes a session (as Better Auth's sign-out does).
    pub fn remove_session(&self, token: &str) {
        locked(&self.sessions).remove(token);
    }

    /// Sets a user's ban as the database would hold it.
    pub fn set_ban(&self, user_id: &str, ban: UserBan) {
        locked(&self.users).insert(user_id.to_owned(), ban);
    }

    /// Sets the key rows (`None`: no jwks table).
    pub fn set_keys(&self, keys: Option<Vec<StoredKey>>) {
        *locked(&self.keys) = keys;
    }

    /// Stores what using the API key with this hash finds.
    pub fn insert_api_key(&self, key_hash: &str, record: ApiKeyRecord) {
        locked(&self.api_keys).insert(key_hash.to_owned(), record);
    }

    /// Adds a dynamic role to an organization (and makes the `organizationRole` table exist).
    pub fn insert_organization_role(&self, organization_id: &str, role: &str, permission: &str) {
        locked(&self.organization_roles)
            .get_or_insert_with(HashMap::new)
            .entry(organization_id.to_owned())
            .or_default()
            .push(OrganizationRoleRow {
                role: role.to_owned(),
                permission: permission.to_owned(),
            });
    }

    /// While `down`, every lookup fails with [`StoreError::Unavailable`].
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    /// How many lookups reached the store (answered or not).
    pub fn lookups(&self) -> u64 {
        self.lookups.load(Ordering::SeqCst)
    }

    fn reach(&self) -> Result<(), StoreError> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        if self.down.load(Ordering::SeqCst) {
            Err(StoreError::Unavailable(
                "the in-memory store is down".into(),
            ))
        } else {
            Ok(())
        }
    }
}

impl AuthStore for MemoryStore {
    async fn find_session(&self, token: &str) -> Result<Option<SessionRecord>, StoreError> {
        self.reach()?;
        Ok(locked(&self.sessions).get(token).cloned())
    }

    async fn user_ban(&self, user_id: &str) -> Result<Option<UserBan>, StoreError> {
        self.reach()?;
        Ok(locked(&self.users).get(user_id).copied())
    }

    async fn jwks(&self) -> Result<Option<Vec<StoredKey>>, StoreError> {
        self.reach()?;
        Ok(locked(&self.keys).clone())
    }

    async fn refresh_session(
        &self,
        token: &str,
        observed: chrono::DateTime<chrono::Utc>,
        new_expiry: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError> {
        self.reach()?;
        let mut sessions = locked(&self.sessions);
        match sessions.get_mut(token) {
            Some(record) if record.expires_at == observed => {
                record.expires_at = new_expiry;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn use_api_key(
        &self,
        key_hash: &str,
        _guard: &crate::store::port::KeyUseGuard<'_>,
    ) -> Result<Option<ApiKeyRecord>, StoreError> {
        self.reach()?;
        Ok(locked(&self.api_keys).get(key_hash).cloned())
    }

    async fn organization_roles(
        &self,
        organization_id: &str,
    ) -> Result<Vec<OrganizationRoleRow>, StoreError> {
        self.reach()?;
        Ok(locked(&self.organization_roles)
            .as_ref()
            .and_then(|roles| roles.get(organization_id))
            .cloned()
            .unwrap_or_default())
    }

    async fn has_organization_roles(&self) -> Result<bool, StoreError> {
        self.reach()?;
        Ok(locked(&self.organization_roles).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn organization_roles_are_kept_per_organization() {
        let store = MemoryStore::new();
        assert!(!store.has_organization_roles().await.expect("answers"));
        assert!(
            store
                .organization_roles("org-1")
                .await
                .expect("answers")
                .is_empty()
        );
        store.insert_organization_role("org-1", "auditor", r#"{"invoice":["read"]}"#);
        assert!(store.has_organization_roles().await.expect("answers"));
        assert_eq!(
            store.organization_roles("org-1").await.expect("answers"),
            vec![OrganizationRoleRow {
                role: "auditor".into(),
                permission: r#"{"invoice":["read"]}"#.into(),
            }]
        );
        assert!(
            store
                .organization_roles("org-2")
                .await
                .expect("answers")
                .is_empty()
        );
    }
}
