//! The PostgreSQL store: the one module that talks to PostgreSQL.
//!
//! - The pool is built once per container and is lazy: nothing connects until the first query,
//!   so a cold start never waits for the database.
//! - Connections are recycled without a round trip, except when one has been idle longer than
//!   `DATABASE_VERIFY_IDLE_AFTER_MS` (a thawed sandbox): then it is pinged first and replaced if
//!   dead. A query that still meets a closed connection is retried once on a fresh one.
//! - Every query runs under the statement timeout on the client (and, by default, the server).
//! - The schema layout is detected on first use and re-detected after
//!   `BETTER_AUTH_SCHEMA_REFRESH_SECONDS` (default 300): one request pays for a re-detection, the
//!   others keep the current layout meanwhile, so a column added by a migration (`banned`,
//!   `revoked`) is honoured within that time.
//! - [`lookups`]: the statements authentication runs, each decoded by its own projection.

mod connect;
pub mod lookups;
pub mod projection;
pub mod settings;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use deadpool_postgres::{Object, Pool};
use tokio_postgres::Row;
use tokio_postgres::types::{ToSql, Type};
use tracing::Instrument as _;

use crate::telemetry::RoundTrip;

use self::connect::{describe, named_statement_lost, pool_error, types};
use self::lookups::{
    ApiKeyUse, BanLookup, KeyLookup, MembershipLookup, OrganizationRoleLookup, SessionLookup,
    SessionRefresh,
};
use self::projection::ColumnListing;
use self::settings::DatabaseSettings;
use crate::env::ConfigError;
use crate::identity::{ApiKeyRecord, SessionRecord};
use crate::schema::{
    ApiKeyField, JwksField, OrganizationRoleField, SchemaLayout, SchemaOverrides, SessionField,
    UserField,
};
use crate::store::port::{
    AuthStore, KeyUseGuard, OrganizationRoleRow, StoreError, StoredKey, UserBan,
};

impl Prepared {
    fn api_key(&self) -> Result<&ApiKeyUse, StoreError> {
        self.api_key.as_ref().ok_or_else(|| {
            StoreError::Unavailable(
                "the api-key method is on but the database has no API key table (apikey) \
                 that fits; see BETTER_AUTH_API_KEY_TABLE"
                    .into(),
            )
        })
    }

    fn session(&self) -> Result<&SessionLookup, StoreError> {
        self.session.as_ref().ok_or_else(|| {
            StoreError::Unavailable(
                "sessions are in secondary storage; this database has no session table".into(),
            )
        })
    }
}

struct Prepared {
    layout: Arc<SchemaLayout>,
    session: Option<SessionLookup>,
    ban: BanLookup,
    keys: Option<KeyLookup>,
    api_key: Option<ApiKeyUse>,
    refresh: Option<SessionRefresh>,
    membership: Option<MembershipLookup>,
    roles: Option<OrganizationRoleLookup>,
}

/// A lazily connecting pool plus the resolved Better Auth schema.
pub struct Database {
    pool: Pool,
    settings: DatabaseSettings,
    overrides: SchemaOverrides,
    /// The detected layout and its statements, with when they were detected.
    prepared: std::sync::RwLock<Option<(Arc<Prepared>, Instant)>>,
    /// Held by the one request that (re-)detects.
    detecting: tokio::sync::Mutex<()>,
    /// Set once a pooler showed that named statements do not survive between round trips.
    unnamed_only: AtomicBool,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("settings", &self.settings)
            .field("status", &self.pool.status())
            .finish_non_exhaustive()
    }
}

impl Database {
    /// Builds the pool without connecting.
    pub fn new(
        settings: &DatabaseSettings,
        overrides: &SchemaOverrides,
    ) -> Result<Self, ConfigError> {
        let pool = connect::pool(settings)?;
        Ok(Self {
            pool,
            settings: settings.clone(),
            overrides: overrides.clone(),
            prepared: std::sync::RwLock::new(None),
            detecting: tokio::sync::Mutex::new(()),
            unnamed_only: AtomicBool::new(false),
        })
    }

    /// The settings this pool was built with.
    pub fn settings(&self) -> &DatabaseSettings {
        &self.settings
    }

    /// The pool, for functions that run their own queries.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// A pooled connection, or why none could be had within the connect timeout.
    pub async fn client(&self) -> Result<Object, StoreError> {
        self.pool
            .get()
            .await
            .map_err(|e| pool_error(e, self.settings.connect_timeout))
    }

    /// Connects, detects the schema and prepares the session lookup now rather than on the
    /// first request: what a function's start-up calls (its init phase has nothing else to wait
    /// for), so that the first invocation costs one query. A failure here changes nothing: the
    /// first request tries again.
    pub async fn warm_up(&self) -> Result<(), StoreError> {
        let prepared = self.prepared().await?;
        if let Some(session) = prepared
            .session
            .as_ref()
            .filter(|_| self.named_statements())
        {
            let client = self.client().await?;
            tokio::time::timeout(
                self.settings.statement_timeout,
                client.prepare_typed_cached(&session.sql, &[Type::TEXT]),
            )
            .await
            .map_err(|_| StoreError::Timeout(self.settings.statement_timeout))?
            .map_err(|e| StoreError::Query(describe(&e)))?;
        }
        Ok(())
    }

    /// Whether queries use cached named statements: configured so, and no pooler has shown that
    /// they do not survive between round trips.
    fn named_statements(&self) -> bool {
        self.settings.prepared_statements && !self.unnamed_only.load(Ordering::Relaxed)
    }

    /// The Better Auth schema layout, detected on first use and re-detected after the refresh
    /// interval.
    pub async fn layout(&self) -> Result<Arc<SchemaLayout>, StoreError> {
        Ok(Arc::clone(&self.prepared().await?.layout))
    }

    fn cached(&self) -> Option<(Arc<Prepared>, Instant)> {
        let guard = self
            .prepared
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        guard.as_ref().map(|(p, at)| (Arc::clone(p), *at))
    }

    fn keep(&self, value: Option<(Arc<Prepared>, Instant)>) {
        *self
            .prepared
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = value;
    }

    async fn prepared(&self) -> Result<Arc<Prepared>, StoreError> {
        let refresh = self.settings.schema_refresh;
        match self.cached() {
            Some((prepared, at)) if at.elapsed() < refresh => Ok(prepared),
            Some((prepared, _)) => {
                // Stale: one request re-detects, the others keep the current layout meanwhile.
                let Ok(_detecting) = self.detecting.try_lock() else {
                    return Ok(prepared);
                };
                match self.detect_prepared().await {
                    Ok(fresh) => {
                        self.keep(Some((Arc::clone(&fresh), Instant::now())));
                        Ok(fresh)
                    }
                    // The database no longer fits: fail closed, and detect again next time.
                    Err(error @ StoreError::Schema(_)) => {
                        self.keep(None);
                        Err(error)
                    }
                    // It could not answer: keep the layout, try again after another interval.
                    Err(error) => {
                        tracing::warn!(error = %error, "schema re-detection failed; keeping the detected layout");
                        self.keep(Some((Arc::clone(&prepared), Instant::now())));
                        Ok(prepared)
                    }
                }
            }
            None => {
                let _detecting = self.detecting.lock().await;
                if let Some((prepared, _)) = self.cached() {
                    return Ok(prepared);
                }
                let fresh = self.detect_prepared().await?;
                self.keep(Some((Arc::clone(&fresh), Instant::now())));
                Ok(fresh)
            }
        }
    }

    async fn detect_prepared(&self) -> Result<Arc<Prepared>, StoreError> {
        let layout = self.detect().await?;
        let (user, session) = (&layout.user, layout.session.as_ref());
        tracing::info!(
            user_table = %user.name,
            session_table = session.map_or("-", |s| s.name.as_str()),
            role = user.has(UserField::Role),
            banned = user.has(UserField::Banned),
            ban_expires = user.has(UserField::BanExpires),
            impersonated_by = session.is_some_and(|s| s.has(SessionField::ImpersonatedBy)),
            revoked = session.is_some_and(|s| s.has(SessionField::Revoked)),
            jwks = layout.table::<JwksField>().is_some(),
            api_keys = layout.table::<ApiKeyField>().is_some(),
            organizations = layout.organizations.is_some(),
            teams = layout.organizations.as_ref().is_some_and(|o| o.teams.is_some()),
            organization_roles = layout.table::<OrganizationRoleField>().is_some(),
            "better auth schema detected (optional security columns found: true/false)"
        );
        Ok(Arc::new(Prepared {
            session: SessionLookup::new(&layout),
            ban: BanLookup::new(&layout),
            keys: KeyLookup::new(&layout),
            api_key: ApiKeyUse::new(&layout),
            refresh: SessionRefresh::new(&layout),
            membership: MembershipLookup::new(&layout),
            roles: OrganizationRoleLookup::new(&layout),
            layout: Arc::new(layout),
        }))
    }

    async fn detect(&self) -> Result<SchemaLayout, StoreError> {
        let candidates = self.overrides.candidate_tables();
        let schema_param = self.overrides.db_schema.clone();
        let listing = ColumnListing::default();
        let rows = self
            .query(
                &listing.sql,
                &[(&schema_param, Type::TEXT), (&candidates, Type::TEXT_ARRAY)],
            )
            .await?;
        let mut schema_name = self.overrides.db_schema.clone().unwrap_or_default();
        let mut columns = Vec::with_capacity(rows.len());
        for row in &rows {
            let (column, found_in) = listing.decode(row)?;
            columns.push(column);
            schema_name = found_in;
        }
        if rows.is_empty() && schema_name.is_empty() {
            schema_name = "current_schema()".to_owned();
        }
        crate::schema::resolve(&schema_name, &columns, &self.overrides).map_err(|e| {
            tracing::error!(error = %e, "the database does not fit Better Auth's schema");
            StoreError::Schema(e)
        })
    }

    /// The one statement an API key use runs (`$1` the key's hash, `$2` whether the owner's
    /// email must be verified), for benchmarks and diagnostics.
    pub async fn api_key_use_sql(&self) -> Result<String, StoreError> {
        let prepared = self.prepared().await?;
        Ok(prepared.api_key()?.sql.clone())
    }

    /// The one statement the session lookup runs (`$1` is the token) and its decoder, for
    /// benchmarks and diagnostics.
    pub async fn session_lookup(&self) -> Result<SessionLookup, StoreError> {
        Ok(self.prepared().await?.session()?.clone())
    }

    /// Confirms a session's active organization (and team) pointers against the membership
    /// tables, for sessions read from secondary storage: `None` without the organization
    /// plugin's tables, or when the user is not a member (a stale pointer grants nothing).
    pub async fn active_organization(
        &self,
        organization_id: &str,
        user_id: &str,
        team_id: Option<&str>,
    ) -> Result<Option<Box<crate::identity::ActiveOrganization>>, StoreError> {
        let prepared = self.prepared().await?;
        let Some(membership) = &prepared.membership else {
            return Ok(None);
        };
        let rows = self
            .query(
                &membership.sql,
                &[
                    (&organization_id, Type::TEXT),
                    (&user_id, Type::TEXT),
                    (&team_id, Type::TEXT),
                ],
            )
            .await?;
        Ok(rows
            .first()
            .map(|row| membership.decode(row))
            .transpose()?
            .flatten())
    }

    /// One round trip (`SELECT 1`), timed: what `/health/db` reports.
    pub async fn ping(&self) -> Result<Duration, StoreError> {
        let started = Instant::now();
        self.query("SELECT 1", &[]).await?;
        Ok(started.elapsed())
    }

    /// Runs a query under the statement timeout, retrying once on a fresh connection when the
    /// pooled one turns out to be closed. Uses cached named statements unless configured not to.
    pub async fn query(
        &self,
        sql: &str,
        params: &[(&(dyn ToSql + Sync), Type)],
    ) -> Result<Vec<Row>, StoreError> {
        let deadline = self.settings.statement_timeout;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let client = self.client().await?;
            let round_trip = self
                .run(&client, sql, params)
                .instrument(RoundTrip::Postgres.span());
            let outcome = tokio::time::timeout(deadline, round_trip).await;
            match outcome {
                Ok(Ok(rows)) => return Ok(rows),
                Ok(Err(e)) if (e.is_closed() || client.is_closed()) && attempt == 1 => {
                    tracing::warn!("database connection was closed; retrying on a new one");
                    drop(Object::take(client));
                }
                Ok(Err(e)) if attempt == 1 && named_statement_lost(&e) => {
                    // A transaction pooler (PgBouncer before 1.21, or without
                    // max_prepared_statements) ran our prepare and our execute on different
                    // server connections. From now on: unnamed statements only.
                    if !self.unnamed_only.swap(true, Ordering::Relaxed) {
                        tracing::warn!(
                            "named prepared statements do not survive here (a transaction pooler?); \
                             using unnamed statements from now on. Set DATABASE_PREPARED_STATEMENTS=false \
                             to start that way"
                        );
                    }
                    drop(Object::take(client));
                }
                Ok(Err(e)) => {
                    if e.is_closed() || client.is_closed() {
                        drop(Object::take(client));
                        return Err(StoreError::Unavailable(describe(&e)));
                    }
                    return Err(match e.as_db_error().map(|db| db.code().code()) {
                        Some("57014") => StoreError::Timeout(deadline),
                        // Values PostgreSQL cannot take: bad text representation, date/time
                        // or numeric out of range, NUL in text, too long for the column or
                        // for an index entry.
                        Some(
                            "22P02" | "22007" | "22008" | "22003" | "22021" | "22001" | "54000",
                        ) => StoreError::InvalidInput,
                        Some("23505") => StoreError::Conflict,
                        _ => StoreError::Query(describe(&e)),
                    });
                }
                Err(_) => {
                    // The connection may still be busy with the abandoned query: never reuse it.
                    drop(Object::take(client));
                    return Err(StoreError::Timeout(deadline));
                }
            }
        }
    }

    async fn run(
        &self,
        client: &Object,
        sql: &str,
        params: &[(&(dyn ToSql + Sync), Type)],
    ) -> Result<Vec<Row>, tokio_postgres::Error> {
        if self.named_statements() {
            let statement = client.prepare_typed_cached(sql, &types(params)).await?;
            let values: Vec<&(dyn ToSql + Sync)> = params.iter().map(|(v, _)| *v).collect();
            client.query(&statement, &values).await
        } else {
            client.query_typed(sql, params).await
        }
    }
}

impl AuthStore for Database {
    async fn find_session(&self, token: &str) -> Result<Option<SessionRecord>, StoreError> {
        let prepared = self.prepared().await?;
        let rows = self
            .query(&prepared.session()?.sql, &[(&token, Type::TEXT)])
            .await?;
        rows.first()
            .map(|row| prepared.session()?.decode(row))
            .transpose()
    }

    async fn user_ban(&self, user_id: &str) -> Result<Option<UserBan>, StoreError> {
        let prepared = self.prepared().await?;
        let rows = self
            .query(&prepared.ban.sql, &[(&user_id, Type::TEXT)])
            .await?;
        rows.first().map(|row| prepared.ban.decode(row)).transpose()
    }

    async fn refresh_session(
        &self,
        token: &str,
        observed: chrono::DateTime<chrono::Utc>,
        new_expiry: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError> {
        let prepared = self.prepared().await?;
        let Some(refresh) = &prepared.refresh else {
            return Ok(false);
        };
        let rows = self
            .query(
                &refresh.sql,
                &[
                    (&token, Type::TEXT),
                    (&observed, Type::TIMESTAMPTZ),
                    (&new_expiry, Type::TIMESTAMPTZ),
                ],
            )
            .await?;
        rows.first()
            .map(|row| refresh.decode(row))
            .transpose()
            .map(|extended| extended.unwrap_or(false))
    }

    async fn use_api_key(
        &self,
        key_hash: &str,
        guard: &KeyUseGuard<'_>,
    ) -> Result<Option<ApiKeyRecord>, StoreError> {
        let prepared = self.prepared().await?;
        let statement = prepared.api_key()?;
        let rows = self
            .query(
                &statement.sql,
                &[
                    (&key_hash, Type::TEXT),
                    (&guard.require_email_verified, Type::BOOL),
                    (&guard.refuse_anonymous, Type::BOOL),
                    (&guard.user_configs, Type::TEXT_ARRAY),
                ],
            )
            .await?;
        rows.first().map(|row| statement.decode(row)).transpose()
    }

    async fn jwks(&self) -> Result<Option<Vec<StoredKey>>, StoreError> {
        let prepared = self.prepared().await?;
        let Some(keys) = &prepared.keys else {
            return Ok(None);
        };
        let rows = self.query(&keys.sql, &[]).await?;
        rows.iter()
            .map(|row| keys.decode(row))
            .collect::<Result<_, _>>()
            .map(Some)
    }

    async fn organization_roles(
        &self,
        organization_id: &str,
    ) -> Result<Vec<OrganizationRoleRow>, StoreError> {
        let prepared = self.prepared().await?;
        let Some(roles) = &prepared.roles else {
            return Ok(Vec::new());
        };
        let rows = self
            .query(&roles.sql, &[(&organization_id, Type::TEXT)])
            .await?;
        rows.iter().map(|row| roles.decode(row)).collect()
    }

    async fn has_organization_roles(&self) -> Result<bool, StoreError> {
        Ok(self.prepared().await?.roles.is_some())
    }
}
