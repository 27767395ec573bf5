//! Opening connections: the pool (lazy, pinged after idling), TLS with verified certificates,
//! and a fresh password per connection for RDS IAM authentication.

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{
    ConfigConnectImpl, Connect, Hook, HookError, Manager, ManagerConfig, Pool, PoolError,
    RecyclingMethod, Runtime,
};
use tokio::task::JoinHandle;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{NoTls, config::SslMode};

use super::settings::{DatabaseSettings, PasswordSource};
use crate::env::ConfigError;
use crate::store::port::StoreError;

/// The server's message and code (never parameters: the queries echo none).
pub(crate) fn describe(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        // The server's message and code; parameters are never echoed by the queries we send.
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => error.to_string(),
    }
}

pub(crate) fn pool_error(error: PoolError, timeout: Duration) -> StoreError {
    match error {
        PoolError::Timeout(_) => StoreError::Timeout(timeout),
        PoolError::Backend(e) => StoreError::Unavailable(describe(&e)),
        other => StoreError::Unavailable(other.to_string()),
    }
}

type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// Connects with a fresh password from `source` when there is one (RDS IAM tokens expire after
/// 15 minutes, so each new connection gets its own).
struct WithPassword<C> {
    inner: C,
    source: Option<Arc<dyn PasswordSource>>,
}

impl<C: Connect> Connect for WithPassword<C> {
    fn connect(
        &self,
        pg_config: &tokio_postgres::Config,
    ) -> BoxFuture<'_, Result<(tokio_postgres::Client, JoinHandle<()>), tokio_postgres::Error>>
    {
        let mut pg_config = pg_config.clone();
        Box::pin(async move {
            if let Some(source) = &self.source {
                match source.password().await {
                    Ok(password) => {
                        pg_config.password(password);
                    }
                    // tokio-postgres errors cannot be built here: the server refuses the
                    // password-less attempt, and this line says why.
                    Err(error) => {
                        tracing::error!(error = %error, "no database password (IAM token)")
                    }
                }
            }
            self.inner.connect(&pg_config).await
        })
    }
}

/// The pool `settings` describe, built without connecting.
pub(crate) fn pool(settings: &DatabaseSettings) -> Result<Pool, ConfigError> {
    let mut pg = settings.pg.clone();
    pg.connect_timeout(settings.connect_timeout);
    pg.keepalives(true);
    pg.keepalives_idle(Duration::from_secs(30));
    if pg.get_application_name().is_none() {
        pg.application_name("better-auth-lambda");
    }
    if settings.server_statement_timeout {
        let timeout = format!(
            "-c statement_timeout={}",
            settings.statement_timeout.as_millis()
        );
        let options = match pg.get_options() {
            Some(existing) if !existing.trim().is_empty() => format!("{existing} {timeout}"),
            _ => timeout,
        };
        pg.options(&options);
    }
    let manager_config = ManagerConfig {
        recycling_method: RecyclingMethod::Fast,
    };
    let source = settings.password_source.clone();
    let manager = match pg.get_ssl_mode() {
        // `prefer` cannot verify anything it falls back from, so it means "no TLS" here:
        // ask for `sslmode=require` to get TLS with full certificate verification.
        SslMode::Disable | SslMode::Prefer => {
            pg.ssl_mode(SslMode::Disable);
            let connect = WithPassword {
                inner: ConfigConnectImpl { tls: NoTls },
                source,
            };
            Manager::from_connect(pg, connect, manager_config)
        }
        _ => {
            let connect = WithPassword {
                inner: ConfigConnectImpl {
                    tls: tls_connector(settings)?,
                },
                source,
            };
            Manager::from_connect(pg, connect, manager_config)
        }
    };
    let verify_after = settings.verify_idle_after;
    let ping_timeout = settings.connect_timeout;
    let pool = Pool::builder(manager)
        .max_size(settings.pool_max_size)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(settings.connect_timeout))
        .create_timeout(Some(settings.connect_timeout))
        .recycle_timeout(Some(settings.connect_timeout))
        .pre_recycle(Hook::async_fn(move |client, metrics| {
            Box::pin(async move {
                if metrics.last_used() < verify_after {
                    return Ok(());
                }
                match tokio::time::timeout(ping_timeout, client.simple_query("")).await {
                    Ok(Ok(_)) => Ok(()),
                    _ => Err(HookError::message("idle connection failed its ping")),
                }
            })
        }))
        .build()
        .map_err(|e| ConfigError::Invalid {
            var: "DATABASE_URL",
            reason: format!("cannot build the connection pool: {e}"),
        })?;
    Ok(pool)
}

fn tls_connector(
    settings: &DatabaseSettings,
) -> Result<tokio_postgres_rustls::MakeRustlsConnect, ConfigError> {
    let invalid = |var: &'static str, reason: String| ConfigError::Invalid { var, reason };
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = &settings.ca_file {
        let pem = std::fs::read(path)
            .map_err(|e| invalid("DATABASE_CA_FILE", format!("cannot read it: {e}")))?;
        let mut reader = std::io::BufReader::new(pem.as_slice());
        let mut added = 0;
        for cert in rustls_pemfile::certs(&mut reader) {
            let cert = cert.map_err(|e| invalid("DATABASE_CA_FILE", format!("bad PEM: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| invalid("DATABASE_CA_FILE", format!("bad certificate: {e}")))?;
            added += 1;
        }
        if added == 0 {
            return Err(invalid("DATABASE_CA_FILE", "holds no certificate".into()));
        }
    }
    let config = crate::tls::client_config(roots)
        .map_err(|e| invalid("DATABASE_URL", format!("TLS set-up failed: {e}")))?;
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// `prepared statement "s0" does not exist` (26000) or `… already exists` (42P05): what a
/// transaction pooler does to named statements.
pub(super) fn named_statement_lost(error: &tokio_postgres::Error) -> bool {
    matches!(
        error.as_db_error().map(|db| db.code().code()),
        Some("26000" | "42P05")
    )
}

pub(super) fn types(params: &[(&(dyn ToSql + Sync), Type)]) -> Vec<Type> {
    params.iter().map(|(_, t)| t.clone()).collect()
}
