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
    /// `DATABASE_READ_URL` and its lag bound: a reader endpoint (read replica) for the
    /// authenticator's reads; `None`: everything goes to `DATABASE_URL`.
    pub read: Option<ReadSettings>,
}

/// The reader endpoint (Aurora reader, RDS read replica): where the authenticator's reads go
/// (`Statement::target` in `replica.rs` says which), while it keeps up. The pool's other
/// settings are the primary's.
#[derive(Clone)]
pub struct ReadSettings {
    /// The parsed `DATABASE_READ_URL`.
    pub pg: tokio_postgres::Config,
    /// `DATABASE_READ_MAX_LAG_MS`: reads go to the primary while the replica reports more lag
    /// than this; `None` (unset): the replica's lag is not checked.
    pub max_lag: Option<Duration>,
    /// `DATABASE_READ_LAG_CHECK_INTERVAL_MS`: the lag is measured at most once per interval
    /// (default 1000), and a reader that failed is left alone for at least as long.
    pub check_interval: Duration,
    /// The reader's per-connection password (RDS IAM, minted for its own host), set by
    /// `auth_core::aws` when `DATABASE_IAM_AUTH=true`.
    pub password_source: Option<std::sync::Arc<dyn PasswordSource>>,
}

impl std::fmt::Debug for ReadSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadSettings")
            .field("hosts", &self.pg.get_hosts().len())
            .field("dbname", &self.pg.get_dbname())
            .field("max_lag", &self.max_lag)
            .field("check_interval", &self.check_interval)
            .field("iam_auth", &self.password_source.is_some())
            .finish_non_exhaustive()
    }
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
            .field("read", &self.read)
            .finish_non_exhaustive()
    }
}

/// A PostgreSQL URL from `var`, with at least one host.
fn postgres_url(var: &'static str, url: &str) -> Result<tokio_postgres::Config, ConfigError> {
    let pg = tokio_postgres::Config::from_str(url.trim()).map_err(|_| {
        invalid(
            var,
            "not a PostgreSQL connection string (postgres://user:password@host:port/db?sslmode=require)",
        )
    })?;
    if pg.get_hosts().is_empty() {
        return Err(invalid(var, "names no host"));
    }
    Ok(pg)
}

impl ReadSettings {
    /// Parses `DATABASE_READ_*`: `None` without `DATABASE_READ_URL`; the lag settings without
    /// it are a mistake, named.
    pub fn parse(env: &Env<'_>) -> Result<Option<Self>, ConfigError> {
        let get = |name: &str| env.get(name);
        let Some(url) = get("DATABASE_READ_URL") else {
            for var in [
                "DATABASE_READ_MAX_LAG_MS",
                "DATABASE_READ_LAG_CHECK_INTERVAL_MS",
            ] {
                if get(var).is_some() {
                    return Err(invalid(var, "is set but DATABASE_READ_URL is not"));
                }
            }
            return Ok(None);
        };
        let max_lag = match get("DATABASE_READ_MAX_LAG_MS") {
            None => None,
            Some(_) => Some(env.millis("DATABASE_READ_MAX_LAG_MS", 0, 0, 3_600_000)?),
        };
        Ok(Some(Self {
            pg: postgres_url("DATABASE_READ_URL", &url)?,
            max_lag,
            check_interval: env.millis("DATABASE_READ_LAG_CHECK_INTERVAL_MS", 1000, 10, 60_000)?,
            password_source: None,
        }))
    }
}

impl DatabaseSettings {
    /// Parses `DATABASE_*` (and `BETTER_AUTH_SCHEMA_REFRESH_SECONDS`).
    pub fn parse(env: &Env<'_>) -> Result<Self, ConfigError> {
        let get = |name: &str| env.get(name);
        let get = &get;
        let url = get("DATABASE_URL").ok_or(ConfigError::Missing("DATABASE_URL"))?;
        let pg = postgres_url("DATABASE_URL", &url)?;
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
            read: ReadSettings::parse(env)?,
        })
    }

    /// The reader endpoint's pool settings: the primary's, with the reader's URL and password.
    pub(crate) fn reader(&self) -> Option<DatabaseSettings> {
        let read = self.read.as_ref()?;
        Some(DatabaseSettings {
            pg: read.pg.clone(),
            password_source: read.password_source.clone(),
            read: None,
            ..self.clone()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(vars: &[(&str, &str)]) -> Result<DatabaseSettings, ConfigError> {
        let lookup = |name: &str| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        };
        DatabaseSettings::parse(&Env::new(&lookup))
    }

    const PRIMARY: (&str, &str) = ("DATABASE_URL", "postgres://u:pw@primary:5432/app");

    #[test]
    fn a_reader_is_optional_and_takes_the_primarys_pool_settings() {
        assert!(parse(&[PRIMARY]).expect("primary only").read.is_none());
        let settings = parse(&[
            PRIMARY,
            ("DATABASE_READ_URL", "postgres://u:pw@reader:5433/app"),
            ("DATABASE_POOL_MAX_SIZE", "3"),
        ])
        .expect("with a reader");
        let read = settings.read.as_ref().expect("reader");
        assert_eq!(read.max_lag, None, "unset: the lag is not checked");
        assert_eq!(read.check_interval, Duration::from_secs(1));
        let reader = settings.reader().expect("reader settings");
        assert_eq!(reader.pg.get_ports(), [5433]);
        assert_eq!(reader.pool_max_size, 3);
        assert!(reader.read.is_none());
    }

    #[test]
    fn lag_settings_are_bounded_and_need_a_reader() {
        let settings = parse(&[
            PRIMARY,
            ("DATABASE_READ_URL", "postgres://u@reader/app"),
            ("DATABASE_READ_MAX_LAG_MS", "0"),
            ("DATABASE_READ_LAG_CHECK_INTERVAL_MS", "250"),
        ])
        .expect("valid");
        let read = settings.read.expect("reader");
        assert_eq!(read.max_lag, Some(Duration::ZERO));
        assert_eq!(read.check_interval, Duration::from_millis(250));
        for (vars, var) in [
            (
                vec![PRIMARY, ("DATABASE_READ_MAX_LAG_MS", "500")],
                "DATABASE_READ_MAX_LAG_MS",
            ),
            (
                vec![
                    PRIMARY,
                    ("DATABASE_READ_URL", "postgres://u@reader/app"),
                    ("DATABASE_READ_LAG_CHECK_INTERVAL_MS", "1"),
                ],
                "DATABASE_READ_LAG_CHECK_INTERVAL_MS",
            ),
            (
                vec![PRIMARY, ("DATABASE_READ_URL", "mysql://secretpw@reader")],
                "DATABASE_READ_URL",
            ),
        ] {
            match parse(&vars) {
                Err(ConfigError::Invalid { var: named, reason }) => {
                    assert_eq!(named, var);
                    assert!(!reason.contains("secretpw"));
                }
                other => panic!("{var}: {other:?}"),
            }
        }
    }
}
