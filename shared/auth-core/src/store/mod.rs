//! The stores behind authentication: a small port ([`AuthStore`]) and its adapters.
//!
//! - [`postgres`]: Better Auth's PostgreSQL database (the lazy pool, schema detection, the
//!   one-round-trip session lookup).
//! - [`secondary`]: sessions in Better Auth's `secondaryStorage` (Redis), the rest in PostgreSQL.
//! - [`dpop_replay`]: DPoP proof ids seen (Redis), for the `oauth` method.
//! - [`redis_link`]: the lazily made Redis connection both Redis stores use.
//! - [`memory`]: an in-memory store for fast unit tests of the ordering and fallback rules.
//! - [`DeployedStore`]: the deployed choice between the first two, made once from configuration.
//!
//! The port is generic (no dynamic dispatch on the hot path): an
//! [`Authenticator`](crate::Authenticator) is built for one concrete store.

pub mod dpop_replay;
pub mod memory;
pub mod port;
pub mod postgres;
pub mod redis_link;
pub mod secondary;

use chrono::{DateTime, Utc};

use crate::identity::{ApiKeyRecord, OAuthSubject, OAuthTokenRecord, SessionRecord};
pub use port::{
    AuthStore, KeyUseGuard, OAuthSubjectLookup, OrganizationRoleRow, StoreError, StoredKey, UserBan,
};

/// Where this deployment's sessions are: PostgreSQL, or secondary storage in front of it. Chosen
/// once at cold start; dispatch is a branch, not a virtual call.
#[derive(Debug)]
pub struct DeployedStore {
    database: postgres::Database,
    secondary: Option<secondary::SecondaryStore>,
}

impl DeployedStore {
    /// Sessions in PostgreSQL (Better Auth's default).
    pub fn database_only(database: postgres::Database) -> Self {
        Self {
            database,
            secondary: None,
        }
    }

    /// Sessions in secondary storage (Redis); users, bans and keys in PostgreSQL.
    pub fn with_secondary(
        database: postgres::Database,
        secondary: secondary::SecondaryStore,
    ) -> Self {
        Self {
            database,
            secondary: Some(secondary),
        }
    }

    /// The PostgreSQL database (users, bans, keys; sessions too without secondary storage).
    pub fn database(&self) -> &postgres::Database {
        &self.database
    }

    /// The secondary storage, when sessions live there.
    pub fn secondary(&self) -> Option<&secondary::SecondaryStore> {
        self.secondary.as_ref()
    }
}

impl AuthStore for DeployedStore {
    async fn find_session(&self, token: &str) -> Result<Option<SessionRecord>, StoreError> {
        match &self.secondary {
            None => self.database.find_session(token).await,
            Some(secondary) => secondary.find_session(token, &self.database).await,
        }
    }

    async fn user_ban(&self, user_id: &str) -> Result<Option<UserBan>, StoreError> {
        self.database.user_ban(user_id).await
    }

    async fn jwks(&self) -> Result<Option<Vec<StoredKey>>, StoreError> {
        self.database.jwks().await
    }

    async fn refresh_session(
        &self,
        token: &str,
        observed: DateTime<Utc>,
        new_expiry: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        match &self.secondary {
            None => {
                self.database
                    .refresh_session(token, observed, new_expiry)
                    .await
            }
            Some(secondary) => {
                let stored = secondary
                    .refresh_session(token, observed, new_expiry)
                    .await?;
                // Rows kept beside the storage are extended too, as Better Auth's updateSession
                // does with `storeSessionInDatabase`.
                if secondary.settings().store_session_in_database {
                    let row = self
                        .database
                        .refresh_session(token, observed, new_expiry)
                        .await?;
                    return Ok(stored || row);
                }
                Ok(stored)
            }
        }
    }

    async fn use_api_key(
        &self,
        key_hash: &str,
        guard: &KeyUseGuard<'_>,
    ) -> Result<Option<ApiKeyRecord>, StoreError> {
        // API keys live in the database (the api-key plugin's default storage).
        self.database.use_api_key(key_hash, guard).await
    }

    // Dynamic roles live in the database only, whichever store keeps the sessions.
    async fn organization_roles(
        &self,
        organization_id: &str,
    ) -> Result<Vec<OrganizationRoleRow>, StoreError> {
        self.database.organization_roles(organization_id).await
    }

    async fn has_organization_roles(&self) -> Result<bool, StoreError> {
        self.database.has_organization_roles().await
    }

    // OAuth tokens, clients and resources live in the database; so does the session a token
    // names, as the provider's introspection reads it.
    async fn oauth_access_token(
        &self,
        token_hash: &str,
        userinfo: &str,
    ) -> Result<Option<OAuthTokenRecord>, StoreError> {
        self.database.oauth_access_token(token_hash, userinfo).await
    }

    async fn oauth_subject(
        &self,
        lookup: &OAuthSubjectLookup<'_>,
    ) -> Result<OAuthSubject, StoreError> {
        self.database.oauth_subject(lookup).await
    }
}
