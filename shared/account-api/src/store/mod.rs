//! The account API's store: every query the `me`, `users` and `sessions` functions run, on
//! Better Auth's PostgreSQL tables as detected by `auth-core`.
//!
//! - [`users`]: read, list, update, roles, bans (a ban is one data-modifying CTE that bans and
//!   revokes).
//! - [`sessions`]: list and revoke, with the layout's one revocation strategy, in PostgreSQL
//!   or (with Better Auth's `secondaryStorage`) in Redis through `stored_sessions`, exactly as
//!   Better Auth does it.
//! - [`accounts`]: linked sign-in methods (never their tokens).
//! - [`api_keys`]: a user's API keys (never their hash) and their deletion.
//! - [`query`]: the validated shapes of `GET /users`' search, filter, sort and page.
//!
//! Each write is one atomic statement and sets `updatedAt`. Ids are compared with the column's
//! own type, so indexes are used for uuid and integer ids too. Every row is decoded by the same
//! projection that wrote its SELECT.

pub mod accounts;
pub mod api_keys;
pub mod query;
pub mod sessions;
mod stored_sessions;
pub mod users;

use std::sync::Arc;

use auth_core::StoreError;
use auth_core::schema::SchemaLayout;
use auth_core::store::postgres::Database;
use auth_core::store::secondary::SecondaryStore;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serializer;
use tokio_postgres::Row;
use tokio_postgres::types::{ToSql, Type};

/// Why an account-store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The database failed or refused.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The schema lacks what the operation needs (admin-plugin columns, an account table).
    #[error("not supported by this database: {0}")]
    Unsupported(&'static str),
}

/// A statement parameter with its PostgreSQL type.
pub(crate) type Param = (Box<dyn ToSql + Sync + Send>, Type);

pub(crate) fn text(value: impl Into<String>) -> Param {
    (Box::new(value.into()), Type::TEXT)
}

/// The account queries, bound to a database and its detected layout.
pub struct AccountStore<'a> {
    db: &'a Database,
    layout: Arc<SchemaLayout>,
    /// Where sessions are kept when Better Auth has `secondaryStorage` (and, with
    /// `storeSessionInDatabase`, in the database too).
    secondary: Option<&'a SecondaryStore>,
    /// The api-key configurations whose keys belong to users (`BETTER_AUTH_API_KEY_CONFIGS`):
    /// the key routes list and delete only keys of these.
    api_key_configs: Vec<String>,
}

impl<'a> AccountStore<'a> {
    /// The store on `db` (detects the schema on first use).
    pub async fn open(db: &'a Database) -> Result<Self, StoreError> {
        Ok(Self {
            db,
            layout: db.layout().await?,
            secondary: None,
            api_key_configs: vec![auth_core::methods::api_key::DEFAULT_CONFIG_ID.to_owned()],
        })
    }

    /// The api-key configurations whose keys are users' (default: `default` alone): an
    /// organization's key, or one of a configuration not listed, is never listed or deleted as
    /// a user's, whatever its `referenceId` (issue 27 F1).
    pub fn with_api_key_configs(mut self, configs: Vec<String>) -> Self {
        self.api_key_configs = configs;
        self
    }

    /// Sessions kept in secondary storage (Better Auth's `secondaryStorage`): listed, revoked
    /// and refreshed there as Better Auth does it, and in the database too when stored there.
    pub fn with_secondary_storage(mut self, secondary: Option<&'a SecondaryStore>) -> Self {
        self.secondary = secondary;
        self
    }

    /// The detected layout.
    pub fn layout(&self) -> &SchemaLayout {
        &self.layout
    }

    pub(crate) async fn run(&self, sql: &str, params: &[Param]) -> Result<Vec<Row>, StoreError> {
        let refs: Vec<(&(dyn ToSql + Sync), Type)> = params
            .iter()
            .map(|(v, t)| (v.as_ref() as &(dyn ToSql + Sync), t.clone()))
            .collect();
        self.db.query(sql, &refs).await
    }
}

/// Better Auth's JSON dates: ISO 8601, milliseconds, `Z`.
pub(crate) fn iso<S: Serializer>(
    value: &Option<DateTime<Utc>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(v) => serializer.serialize_str(&v.to_rfc3339_opts(SecondsFormat::Millis, true)),
        None => serializer.serialize_none(),
    }
}

pub(crate) fn iso_required<S: Serializer>(
    value: &DateTime<Utc>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&value.to_rfc3339_opts(SecondsFormat::Millis, true))
}

/// `count(*)` of a `WITH r AS (… RETURNING 1) SELECT count(*) FROM r` statement.
pub(crate) fn count(rows: &[Row]) -> Result<u64, StoreError> {
    let n: Option<i64> = rows
        .first()
        .map(|r| r.try_get(0))
        .transpose()
        .map_err(|e| StoreError::Query(format!("unexpected column value: {e}")))?;
    Ok(u64::try_from(n.unwrap_or(0)).unwrap_or(0))
}
