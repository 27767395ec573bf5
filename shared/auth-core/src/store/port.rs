//! The store port: the lookups authentication needs, each one round trip at most, and the one
//! error a store answers with. The adapters ([`super::postgres`], [`super::secondary`],
//! [`super::memory`]) implement it; methods and the authenticator depend on it alone.

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::identity::{ApiKeyRecord, OAuthSubject, OAuthTokenRecord, SessionRecord};
use crate::schema::SchemaError;
use crate::telemetry::metrics::Tally;

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

impl StoreError {
    /// What the metrics count this failure as (nothing for the caller's own input).
    pub fn tally(&self) -> Option<Tally> {
        match self {
            Self::Timeout(_) => Some(Tally::StoreTimeout),
            Self::Unavailable(_) | Self::Schema(_) | Self::Query(_) => Some(Tally::StoreError),
            Self::InvalidInput | Self::Conflict => None,
        }
    }
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

/// One of an organization's roles created at run time (the organization plugin's
/// `organizationRole`, with `dynamicAccessControl`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizationRoleRow {
    /// `role`: the role's name.
    pub role: String,
    /// `permission`: JSON text as stored, e.g. `{"invoice":["create"]}` (the caller parses it).
    pub permission: String,
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
    /// its state and owner; `None` when no key of an accepted configuration has this hash.
    fn use_api_key(
        &self,
        key_hash: &str,
        guard: &KeyUseGuard<'_>,
    ) -> impl Future<Output = Result<Option<ApiKeyRecord>, StoreError>> + Send;

    /// The roles created at run time for this organization (`organizationRole`); empty when
    /// it has none, and when the store has no such table ([`Self::has_organization_roles`]
    /// tells which). A store without dynamic roles needs nothing.
    fn organization_roles(
        &self,
        organization_id: &str,
    ) -> impl Future<Output = Result<Vec<OrganizationRoleRow>, StoreError>> + Send {
        let _ = organization_id;
        std::future::ready(Ok(Vec::new()))
    }

    /// Whether the store has the organization plugin's `organizationRole` table (an async
    /// question: the database's schema is detected on first use).
    fn has_organization_roles(&self) -> impl Future<Output = Result<bool, StoreError>> + Send {
        std::future::ready(Ok(false))
    }

    /// The opaque OAuth access token whose stored hash is `token_hash` (`oauthAccessToken`),
    /// with its client, session, resources (`userinfo`, the provider's implicit
    /// `<baseURL>/oauth2/userinfo` audience, is not one) and user; `None` when no row has it.
    /// A store without the provider's tables cannot answer: `Unavailable`, never an allow.
    fn oauth_access_token(
        &self,
        token_hash: &str,
        userinfo: &str,
    ) -> impl Future<Output = Result<Option<OAuthTokenRecord>, StoreError>> + Send {
        let _ = (token_hash, userinfo);
        std::future::ready(Err(StoreError::Unavailable(
            "this store has no OAuth access tokens".into(),
        )))
    }

    /// What the store knows about a JWT access token's client (`client_id`), session
    /// (`session_id`), audience (`audiences`, which must all still be registered resources)
    /// and user (`user_id`), in one statement. A store without the provider's tables cannot
    /// answer: `Unavailable`, never an allow.
    fn oauth_subject(
        &self,
        lookup: &OAuthSubjectLookup<'_>,
    ) -> impl Future<Output = Result<OAuthSubject, StoreError>> + Send {
        let _ = lookup;
        std::future::ready(Err(StoreError::Unavailable(
            "this store has no OAuth clients".into(),
        )))
    }
}

/// What a JWT access token names, for [`AuthStore::oauth_subject`].
#[derive(Debug, Clone, Copy)]
pub struct OAuthSubjectLookup<'a> {
    /// `azp`.
    pub client_id: &'a str,
    /// `sub`, for a user's token.
    pub user_id: Option<&'a str>,
    /// `sid`.
    pub session_id: Option<&'a str>,
    /// The `aud` values that must still be registered resources.
    pub audiences: &'a [String],
}

/// What a key use must satisfy inside the statement that counts it, so that a key refused for
/// any of these reasons spends no quota and no rate limit.
#[derive(Debug, Clone, Copy)]
pub struct KeyUseGuard<'a> {
    /// The `configId`s whose keys act as their user (`default` also stands for a null one).
    pub user_configs: &'a [String],
    /// The `configId`s whose keys are an organization's (`references: "organization"`): a key
    /// of a configuration in neither list is not found.
    pub organization_configs: &'a [String],
    /// `BETTER_AUTH_REQUIRE_EMAIL_VERIFIED`.
    pub require_email_verified: bool,
    /// `BETTER_AUTH_REFUSE_ANONYMOUS`.
    pub refuse_anonymous: bool,
}
