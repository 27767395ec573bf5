//! How to reach PostgreSQL: `DATABASE_*`, parsed once next to the store that uses it.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use crate::env::{ConfigError, Env, flag, invalid, millis, number};

/// Supplies a fresh password for each new connection (RDS IAM authentication tokens).
pub trait PasswordSource: Send + Sync {
    /// A password valid now. Errors are logged; the connection is then tried without one.
    fn password(
        &self,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<String, String>> + Send + '_>>;
}

/// How to reach PostgreSQL.
#[derive(Clone)]
pub struct DatabaseSettings {
    /// The parsed `DATABASE_URL`.
    pub pg: tokio_postgres::Config,
    /// `DATABASE_POOL_MAX_SIZE`: connections per container (default 2).
    pub pool_max_size: usize,
    /// `DATABASE_CONNECT_TIMEOUT_MS`: opening a connection (default 3000).
    pub connect_timeout: Duration,
    /// `DATABASE_STATEMENT_TIMEOUT_MS`: one query, enforced by the client and sent to the server
    /// as `statement_timeout` (default 2000).
    pub statement_timeout: Duration,
    /// `DATABASE_SERVER_STATEMENT_TIMEOUT`: also send `statement_timeout` as a startup option
    /// (default true; turn off for poolers that refuse startup options).
    pub server_statement_timeout: bool,
    /// `DATABASE_PREPARED_STATEMENTS`: cache named prepared statements per connection (default
    /// true). Set false behind transaction poolers without prepared-statement support.
    pub prepared_statements: bool,
    /// `DATABASE_VERIFY_IDLE_AFTER_MS`: a pooled connection idle this long is pinged before use,
    /// catching connections that died while the sandbox was frozen (default 10000; 0 = always).
    pub verify_idle_after: Duration,
    /// `BETTER_AUTH_SCHEMA_REFRESH_SECONDS`: how long a detected schema layout is used before it
    /// is detected again (default 300): a column added by a migration is honoured within it.
    pub schema_refresh: Duration,
    /// `DATABASE_CA_FILE`: extra PEM roots (e.g. the Amazon RDS bundle) for `sslmode=require`.
    pub ca_file: Option<PathBuf>,
    /// A per-connection password (RDS IAM), set by `auth_core::aws` when `DATABASE_IAM_AUTH=true`.
    pub password_source: Option<std::sync::Arc<dyn PasswordSource>>,
}

impl std::fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseSettings")
            .field("hosts", &self.pg.get_hosts().len())
            .field("dbname", &self.pg.get_dbname())
            .field("user", &self.pg.get_user())
            .field("pool_max_size", &self.pool_max_size)
            .field("connect_timeout", &self.connect_timeout)
            .field("statement_timeout", &self.statement_timeout)
            .field("prepared_statements", &self.prepared_statements)
            .field("iam_auth", &self.password_source.is_some())
            .finish_non_exhaustive()
    }
}

impl DatabaseSettings {
    /// Parses `DATABASE_*` (and `BETTER_AUTH_SCHEMA_REFRESH_SECONDS`).
    pub fn parse(env: &Env<'_>) -> Result<Self, ConfigError> {
        let get = |name: &str| env.get(name);
        let get = &get;
        let url = get("DATABASE_URL").ok_or(ConfigError::Missing("DATABASE_URL"))?;
        let pg = tokio_postgres::Config::from_str(url.trim()).map_err(|_| {
        invalid(
            "DATABASE_URL",
            "not a PostgreSQL connection string (postgres://user:password@host:port/db?sslmode=require)",
        )
    })?;
        if pg.get_hosts().is_empty() {
            return Err(invalid("DATABASE_URL", "names no host"));
        }
        let ca_file = get("DATABASE_CA_FILE").map(PathBuf::from);
        if let Some(path) = &ca_file
            && !path.is_file()
        {
            return Err(invalid("DATABASE_CA_FILE", "no such file"));
        }
        Ok(DatabaseSettings {
            pg,
            pool_max_size: number(get, "DATABASE_POOL_MAX_SIZE", 2, 1, 64)?,
            connect_timeout: millis(get, "DATABASE_CONNECT_TIMEOUT_MS", 3000, 100, 60_000)?,
            statement_timeout: millis(get, "DATABASE_STATEMENT_TIMEOUT_MS", 2000, 10, 60_000)?,
            server_statement_timeout: flag(get, "DATABASE_SERVER_STATEMENT_TIMEOUT", true)?,
            prepared_statements: flag(get, "DATABASE_PREPARED_STATEMENTS", true)?,
            verify_idle_after: millis(get, "DATABASE_VERIFY_IDLE_AFTER_MS", 10_000, 0, 3_600_000)?,
            schema_refresh: Duration::from_secs(number(
                get,
                "BETTER_AUTH_SCHEMA_REFRESH_SECONDS",
                300,
                1,
                86_400,
            )?),
            ca_file,
            password_source: None,
        })
    }
}
