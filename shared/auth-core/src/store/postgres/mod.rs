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

mod auth_store;
mod connect;
mod endpoint;
pub mod lookups;
pub mod projection;
mod replica;
pub mod settings;

use std::sync::Arc;
use std::time::{Duration, Instant};

use deadpool_postgres::{Object, Pool};
use tokio_postgres::Row;
use tokio_postgres::types::{ToSql, Type};

use self::endpoint::Endpoint;
use self::lookups::{
    ApiKeyUse, BanLookup, KeyLookup, MembershipLookup, OAuthSubjectQuery, OAuthTokenLookup,
    OrganizationRoleLookup, SessionLookup, SessionRefresh,
};
use self::projection::ColumnListing;
pub use self::replica::LAG_SQL;
use self::replica::{Reader, Statement, Target};
use self::settings::DatabaseSettings;
use crate::env::ConfigError;
use crate::schema::{
    ApiKeyField, JwksField, OAuthAccessTokenField, OAuthClientField, OrganizationRoleField,
    SchemaLayout, SchemaOverrides, SessionField, UserField,
};
use crate::store::port::StoreError;

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

    fn oauth_token(&self) -> Result<&OAuthTokenLookup, StoreError> {
        self.oauth_token.as_ref().ok_or_else(|| {
            StoreError::Unavailable(
                "the oauth method is on but the database has no oauthAccessToken and oauthClient \
                 tables that fit @better-auth/oauth-provider 1.7 (Better Auth 1.6's legacy \
                 oidc-provider/mcp table stores plain-text accessToken and is not supported); \
                 see BETTER_AUTH_OAUTH_ACCESS_TOKEN_TABLE"
                    .into(),
            )
        })
    }

    fn oauth_subject(&self) -> Result<&OAuthSubjectQuery, StoreError> {
        self.oauth_subject.as_ref().ok_or_else(|| {
            StoreError::Unavailable(
                "the oauth method is on but the database has no oauthClient table \
                 (@better-auth/oauth-provider); see BETTER_AUTH_OAUTH_CLIENT_TABLE"
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
    oauth_token: Option<OAuthTokenLookup>,
    oauth_subject: Option<OAuthSubjectQuery>,
}

/// A lazily connecting pool plus the resolved Better Auth schema; with `DATABASE_READ_URL`, a
/// second pool for the reader endpoint (`replica.rs`: which statement goes where).
pub struct Database {
    primary: Endpoint,
    reader: Option<Reader>,
    overrides: SchemaOverrides,
    /// The detected layout and its statements, with when they were detected.
    prepared: std::sync::RwLock<Option<(Arc<Prepared>, Instant)>>,
    /// Held by the one request that (re-)detects.
    detecting: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("settings", &self.primary.settings)
            .field("status", &self.primary.pool.status())
            .field("reader", &self.reader)
            .finish_non_exhaustive()
    }
}

impl Database {
    /// Builds the pools (the primary's; the reader's with `DATABASE_READ_URL`) without
    /// connecting.
    pub fn new(
        settings: &DatabaseSettings,
        overrides: &SchemaOverrides,
    ) -> Result<Self, ConfigError> {
        let reader = match (settings.reader(), &settings.read) {
            (Some(reader_settings), Some(read)) => Some(Reader::new(reader_settings, read)?),
            _ => None,
        };
        Ok(Self {
            primary: Endpoint::new(settings.clone())?,
            reader,
            overrides: overrides.clone(),
            prepared: std::sync::RwLock::new(None),
            detecting: tokio::sync::Mutex::new(()),
        })
    }

    /// The settings the primary's pool was built with.
    pub fn settings(&self) -> &DatabaseSettings {
        &self.primary.settings
    }

    /// The primary's pool, for functions that run their own queries (reads and writes: only
    /// the authenticator's own reads go to a reader endpoint).
    pub fn pool(&self) -> &Pool {
        &self.primary.pool
    }

    /// A pooled connection to the primary, or why none could be had within the connect timeout.
    pub async fn client(&self) -> Result<Object, StoreError> {
        self.primary.client().await
    }

    /// Runs a query on the primary under the statement timeout: what the
    /// account functions' reads and writes use.
    pub async fn query(
        &self,
        sql: &str,
        params: &[(&(dyn ToSql + Sync), Type)],
    ) -> Result<Vec<Row>, StoreError> {
        self.primary.query(sql, params).await
    }

    /// Runs one of the authenticator's statements where [`Statement::target`] sends it: a read
    /// to the reader endpoint while it keeps up (an answer `absent` calls an absence is
    /// confirmed on the primary), anything else, and every read without a usable reader, to the
    /// primary.
    async fn run(
        &self,
        statement: Statement,
        sql: &str,
        params: &[(&(dyn ToSql + Sync), Type)],
        absent: impl Fn(&[Row]) -> bool,
    ) -> Result<Vec<Row>, StoreError> {
        match (statement.target(), &self.reader) {
            (Target::Reader, Some(reader)) => {
                reader
                    .read(&self.primary, statement, sql, params, absent)
                    .await
            }
            _ => self.primary.query(sql, params).await,
        }
    }

    /// Connects, detects the schema and prepares the session lookup now rather than on the
    /// first request: what a function's start-up calls (its init phase has nothing else to wait
    /// for), so that the first invocation costs one query. A failure here changes nothing: the
    /// first request tries again.
    pub async fn warm_up(&self) -> Result<(), StoreError> {
        let prepared = self.prepared().await?;
        if let Some(session) = &prepared.session {
            // Where session lookups go: the reader's connection when there is one (a failure
            // there is left to the first read, which falls back to the primary).
            match &self.reader {
                Some(reader) => reader.warm_up(&session.sql, &[Type::TEXT]).await,
                None => self.primary.prepare(&session.sql, &[Type::TEXT]).await?,
            }
        }
        Ok(())
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
        let refresh = self.primary.settings.schema_refresh;
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
            oauth_clients = layout.table::<OAuthClientField>().is_some(),
            oauth_access_tokens = layout.table::<OAuthAccessTokenField>().is_some(),
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
            oauth_token: OAuthTokenLookup::new(&layout),
            oauth_subject: OAuthSubjectQuery::new(&layout),
            layout: Arc::new(layout),
        }))
    }

    async fn detect(&self) -> Result<SchemaLayout, StoreError> {
        let candidates = self.overrides.candidate_tables();
        let schema_param = self.overrides.db_schema.clone();
        let listing = ColumnListing::default();
        let rows = self
            .run(
                Statement::SchemaDetection,
                &listing.sql,
                &[(&schema_param, Type::TEXT), (&candidates, Type::TEXT_ARRAY)],
                <[Row]>::is_empty,
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

    /// Whether the database holds Better Auth 1.6's legacy OAuth provider (`oidcProvider`,
    /// `mcp`): an `oauthApplication` table, or an `oauthAccessToken` keeping `accessToken` in
    /// plain text. One catalog query.
    pub async fn has_legacy_oauth_provider(&self) -> Result<bool, StoreError> {
        const TABLES: [&str; 4] = [
            "oauthApplication",
            "oauth_application",
            "oauthAccessToken",
            "oauth_access_token",
        ];
        let tables: Vec<String> = TABLES.iter().map(|t| (*t).to_owned()).collect();
        let schema_param = self.overrides.db_schema.clone();
        let listing = ColumnListing::default();
        let rows = self
            .primary
            .query(
                &listing.sql,
                &[(&schema_param, Type::TEXT), (&tables, Type::TEXT_ARRAY)],
            )
            .await?;
        for row in &rows {
            let (column, _) = listing.decode(row)?;
            let application = column.table.eq_ignore_ascii_case("oauthApplication")
                || column.table == "oauth_application";
            let plain_token = column.column == "accessToken" || column.column == "access_token";
            if application || plain_token {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The one statement an API key use runs (`$1` the key's hash, `$2` whether the owner's
    /// email must be verified), for benchmarks and diagnostics.
    pub async fn api_key_use_sql(&self) -> Result<String, StoreError> {
        let prepared = self.prepared().await?;
        Ok(prepared.api_key()?.sql.clone())
    }

    /// The one statement an opaque OAuth access token's lookup runs and its decoder (`$1` the
    /// token's hash, `$2` the provider's userinfo audience), for benchmarks and diagnostics.
    pub async fn oauth_token_lookup(&self) -> Result<OAuthTokenLookup, StoreError> {
        Ok(self.prepared().await?.oauth_token()?.clone())
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
            .run(
                Statement::Membership,
                &membership.sql,
                &[
                    (&organization_id, Type::TEXT),
                    (&user_id, Type::TEXT),
                    (&team_id, Type::TEXT),
                ],
                // Not a member (or no such organization) on the reader: the primary confirms.
                |rows| {
                    !matches!(
                        rows.first().map(|r| membership.decode(r)),
                        Some(Ok(Some(_)))
                    )
                },
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
}
