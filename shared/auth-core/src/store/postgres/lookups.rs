//! The statements authentication runs, each written and decoded by one [`Projection`].

use chrono::{DateTime, Utc};
use tokio_postgres::Row;

use crate::identity::SessionRecord;
use crate::schema::{JwksField, Projection, SchemaLayout, SessionField, Slot, UserField};
use crate::store::{StoreError, StoredKey, UserBan};

/// One round trip: the session joined with its user, by token (`$1`).
#[derive(Debug, Clone)]
pub struct SessionLookup {
    /// The statement.
    pub sql: String,
    session_id: Slot<String>,
    user_id: Slot<String>,
    expires_at: Slot<DateTime<Utc>>,
    impersonated_by: Slot<Option<String>>,
    revoked: Slot<bool>,
    email: Slot<Option<String>>,
    name: Slot<Option<String>>,
    email_verified: Slot<Option<bool>>,
    role: Slot<Option<String>>,
    banned: Slot<Option<bool>>,
    ban_expires: Slot<Option<DateTime<Utc>>>,
    impersonator_banned: Slot<Option<bool>>,
    impersonator_ban_expires: Slot<Option<DateTime<Utc>>>,
}

impl SessionLookup {
    /// Writes the statement for this layout; `None` without a session table.
    pub fn new(layout: &SchemaLayout) -> Option<Self> {
        let (s, u) = (layout.session.as_ref()?, &layout.user);
        let mut p = Projection::default();
        let session_id = p.field(s, "s", SessionField::Id);
        let user_id = p.field(s, "s", SessionField::UserId);
        let expires_at = p.field(s, "s", SessionField::ExpiresAt);
        let impersonated_by = p.field(s, "s", SessionField::ImpersonatedBy);
        let revoked = p.expr(layout.revocation.revoked_expr("s"));
        let email = p.field(u, "u", UserField::Email);
        let name = p.field(u, "u", UserField::Name);
        let email_verified = p.field(u, "u", UserField::EmailVerified);
        let role = p.field(u, "u", UserField::Role);
        let banned = p.field(u, "u", UserField::Banned);
        let ban_expires = p.field(u, "u", UserField::BanExpires);
        // An impersonation session ends with its admin's ban: the admin's ban is read in the
        // same round trip (a primary-key join, only where both columns exist).
        let impersonator = s.has(SessionField::ImpersonatedBy) && u.has(UserField::Banned);
        let (impersonator_banned, impersonator_ban_expires, join) = if impersonator {
            (
                p.field(u, "i", UserField::Banned),
                p.field(u, "i", UserField::BanExpires),
                format!(
                    " LEFT JOIN {} AS i ON {}",
                    u.sql_name(),
                    u.eq_expr(
                        "i",
                        UserField::Id,
                        &s.col("s", SessionField::ImpersonatedBy)
                    ),
                ),
            )
        } else {
            (
                p.expr("NULL::boolean"),
                p.expr("NULL::timestamptz"),
                String::new(),
            )
        };
        let sql = format!(
            "SELECT {} FROM {} AS s JOIN {} AS u ON {} = {}{join} WHERE {} = $1",
            p.list(),
            s.sql_name(),
            u.sql_name(),
            u.col("u", UserField::Id),
            s.col("s", SessionField::UserId),
            s.col("s", SessionField::Token),
        );
        Some(Self {
            sql,
            session_id,
            user_id,
            expires_at,
            impersonated_by,
            revoked,
            email,
            name,
            email_verified,
            role,
            banned,
            ban_expires,
            impersonator_banned,
            impersonator_ban_expires,
        })
    }

    /// Reads a row of [`Self::sql`].
    pub fn decode(&self, row: &Row) -> Result<SessionRecord, StoreError> {
        Ok(SessionRecord {
            session_id: self.session_id.read(row)?,
            user_id: self.user_id.read(row)?,
            expires_at: self.expires_at.read(row)?,
            impersonated_by: self.impersonated_by.read(row)?,
            revoked: self.revoked.read(row)?,
            email: self.email.read(row)?.unwrap_or_default(),
            name: self.name.read(row)?.unwrap_or_default(),
            email_verified: self.email_verified.read(row)?.unwrap_or(false),
            role: self.role.read(row)?,
            banned: self.banned.read(row)?,
            ban_expires: self.ban_expires.read(row)?,
            impersonator_banned: self.impersonator_banned.read(row)?,
            impersonator_ban_expires: self.impersonator_ban_expires.read(row)?,
        })
    }
}

/// The user's `banned` and `banExpires` by id (`$1`).
#[derive(Debug, Clone)]
pub struct BanLookup {
    /// The statement.
    pub sql: String,
    banned: Slot<Option<bool>>,
    ban_expires: Slot<Option<DateTime<Utc>>>,
}

impl BanLookup {
    /// Writes the statement for this layout.
    pub fn new(layout: &SchemaLayout) -> Self {
        let u = &layout.user;
        let mut p = Projection::default();
        let banned = p.field(u, "u", UserField::Banned);
        let ban_expires = p.field(u, "u", UserField::BanExpires);
        let sql = format!(
            "SELECT {} FROM {} AS u WHERE {}",
            p.list(),
            u.sql_name(),
            u.eq_param("u", UserField::Id, 1),
        );
        Self {
            sql,
            banned,
            ban_expires,
        }
    }

    /// Reads a row of [`Self::sql`].
    pub fn decode(&self, row: &Row) -> Result<UserBan, StoreError> {
        Ok(UserBan {
            banned: self.banned.read(row)?,
            ban_expires: self.ban_expires.read(row)?,
        })
    }
}

/// The jwt plugin's public keys (never `privateKey`).
#[derive(Debug, Clone)]
pub struct KeyLookup {
    /// The statement.
    pub sql: String,
    id: Slot<String>,
    public_key: Slot<String>,
    alg: Slot<Option<String>>,
    expires_at: Slot<Option<DateTime<Utc>>>,
}

impl KeyLookup {
    /// Writes the statement, or `None` without a jwks table.
    pub fn new(layout: &SchemaLayout) -> Option<Self> {
        let k = layout.jwks.as_ref()?;
        let mut p = Projection::default();
        let id = p.field(k, "k", JwksField::Id);
        let public_key = p.field(k, "k", JwksField::PublicKey);
        let alg = p.field(k, "k", JwksField::Alg);
        let expires_at = p.field(k, "k", JwksField::ExpiresAt);
        let sql = format!("SELECT {} FROM {} AS k", p.list(), k.sql_name());
        Some(Self {
            sql,
            id,
            public_key,
            alg,
            expires_at,
        })
    }

    /// Reads a row of [`Self::sql`].
    pub fn decode(&self, row: &Row) -> Result<StoredKey, StoreError> {
        Ok(StoredKey {
            id: self.id.read(row)?,
            public_key: self.public_key.read(row)?,
            alg: self.alg.read(row)?,
            expires_at: self.expires_at.read(row)?,
        })
    }
}
