//! A user's ban by id, and the jwt plugin's public keys.

use chrono::{DateTime, Utc};
use tokio_postgres::Row;

use super::super::projection::{Projection, Slot};
use crate::schema::{JwksField, SchemaLayout, UserField};
use crate::store::port::{StoreError, StoredKey, UserBan};

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
        let k = layout.table::<JwksField>()?;
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
