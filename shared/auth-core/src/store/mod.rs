//! The stores behind authentication: a small port ([`AuthStore`]) and its adapters.
//!
//! - [`postgres`]: Better Auth's PostgreSQL database (the lazy pool, schema detection, the
//!   one-round-trip session lookup).
//! - [`secondary`]: sessions in Better Auth's `secondaryStorage` (Redis), the rest in PostgreSQL.
//! - [`memory`]: an in-memory store for fast unit tests of the ordering and fallback rules.
//! - [`SessionStore`]: the deployed choice between the first two, made once from configuration.
//!
//! The port is generic (no dynamic dispatch on the hot path): an
//! [`Authenticator`](crate::Authenticator) is built for one concrete store.

pub mod memory;
pub mod postgres;
pub mod secondary;

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::identity::{ApiKeyRecord, SessionRecord};
use crate::schema::SchemaError;

/// Why a store could not answer. Never carries SQL text, parameter values or tokens.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No connection could be opened or checked out.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The query (or the wait for a connection) exceeded its timeout.
    #[error("database timed out after {0:?}")]
    Timeout(Duration),
    /// The database's tables do not fit Better Auth's schema.
    #[error("database schema mismatch: {0}")]
    Schema(#[from] SchemaError),
    /// The server refused the query.
    #[error("database query failed: {0}")]
    Query(String),
    /// A value the column's type cannot hold (e.g. a malformed uuid): the caller's input.
    #[error("a value does not fit its column")]
    InvalidInput,
    /// A unique constraint refused the write (e.g. an email already in use).
    #[error("a unique value is already taken")]
    Conflict,
}

/// A user's ban as stored (admin plugin): both `None` without the plugin's columns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserBan {
    /// `banned`.
    pub banned: Option<bool>,
    /// `banExpires`; `None` with `banned` means a permanent ban.
    pub ban_expires: Option<DateTime<Utc>>,
}

impl UserBan {
    /// Whether the ban holds at `now`.
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        crate::identity::is_banned(self.banned, self.ban_expires, now)
    }
}

/// One row of the jwt plugin's `jwks` table (public part only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey {
    /// `id`: the `kid`.
    pub id: String,
    /// `publicKey`: the public JWK as JSON text.
    pub public_key: String,
    /// `alg`, when the row has one (rows from before Better Auth 1.4 do not).
    pub alg: Option<String>,
    /// `expiresAt`: set when key rotation is configured.
    pub expires_at: Option<DateTime<Utc>>,
}

/// The lookups authentication needs. Each is one round trip at most.
pub trait AuthStore: Send + Sync {
    /// The session with this token, joined with its user; `None` when no session has it.
    fn find_session(
        &self,
        token: &str,
    ) -> impl Future<Output = Result<Option<SessionRecord>, StoreError>> + Send;

    /// The user's current ban (one primary-key lookup); `None` when there is no such user.
    fn user_ban(
        &self,
        user_id: &str,
    ) -> impl Future<Output = Result<Option<UserBan>, StoreError>> + Send;

    /// The jwt plugin's public keys; `None` when the store has no key table.
    fn jwks(&self) -> impl Future<Output = Result<Option<Vec<StoredKey>>, StoreError>> + Send;

    /// Extends the session with this token to `new_expiry`, as Better Auth's `get-session` does
    /// past `updateAge`, unless another request did since it was read with `observed` (a guarded
    /// write). Returns whether this call extended it.
    fn refresh_session(
        &self,
        token: &str,
        observed: DateTime<Utc>,
        new_expiry: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Uses the API key whose hash is `key_hash`: counts the use when every rule holds (one
    /// guarded write), deletes the key when Better Auth would (expired, used up), and returns
    /// its state and owner; `None` when no key has this hash.
    fn use_api_key(
        &self,
        key_hash: &str,
        require_email_verified: bool,
    ) -> impl Future<Output = Result<Option<ApiKeyRecord>, StoreError>> + Send;
}

/// Where this deployment's sessions are: PostgreSQL, or secondary storage in front of it. Chosen
/// once at cold start; dispatch is a branch, not a virtual call.
#[derive(Debug)]
pub struct SessionStore {
    database: postgres::Database,
    secondary: Option<secondary::SecondaryStore>,
}

impl SessionStore {
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

impl AuthStore for SessionStore {
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
        require_email_verified: bool,
    ) -> Result<Option<ApiKeyRecord>, StoreError> {
        // API keys live in the database (the api-key plugin's default storage).
        self.database
            .use_api_key(key_hash, require_email_verified)
            .await
    }
}
