//! One lazily made Redis connection with its timeouts, shared by what keeps data in Redis
//! (sessions in secondary storage, DPoP proof ids). The connection is made on first use and
//! re-made after any failure (a frozen sandbox's socket stays open and silent), never by a
//! request that does not need it; every exchange runs under the command timeout.

use std::future::Future;
use std::time::Duration;

use redis::AsyncConnectionConfig;
use redis::aio::MultiplexedConnection;
use tracing::Instrument as _;

use crate::env::{ConfigError, Env};
use crate::store::port::StoreError;
use crate::telemetry::RoundTrip;

/// A Redis server, connected on first use.
pub struct RedisLink {
    client: redis::Client,
    connect_timeout: Duration,
    command_timeout: Duration,
    /// The connection, made on first use and dropped after any failure (a timeout included),
    /// so the next request reconnects.
    connection: tokio::sync::Mutex<Option<MultiplexedConnection>>,
}

impl std::fmt::Debug for RedisLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password: nothing of it is shown.
        f.debug_struct("RedisLink")
            .field("connect_timeout", &self.connect_timeout)
            .field("command_timeout", &self.command_timeout)
            .finish_non_exhaustive()
    }
}

/// Whether a `rediss://` URL turns the certificate check off (`#insecure`, as the redis crate
/// reads it).
pub fn insecure_tls(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| u.scheme() == "rediss" && u.fragment() == Some("insecure"))
}

/// What accepts a `rediss://…#insecure` URL (no certificate check), for every Redis URL.
pub const ALLOW_INSECURE_TLS: &str = "BETTER_AUTH_SECONDARY_STORAGE_ALLOW_INSECURE_TLS";

/// Checks a Redis URL read from `var`: `redis://` or `rediss://`, one the client accepts, and
/// `#insecure` only with [`ALLOW_INSECURE_TLS`].
pub fn check_url(env: &Env<'_>, var: &'static str, url: &str) -> Result<(), ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid { var, reason };
    if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
        return Err(invalid("expected redis://… or rediss://… (TLS)".into()));
    }
    redis::Client::open(url)
        .map_err(|_| invalid("not a Redis URL (rediss://user:password@host:6379/0)".into()))?;
    if insecure_tls(url) && !env.flag(ALLOW_INSECURE_TLS, false)? {
        return Err(invalid(format!(
            "#insecure turns off the TLS certificate check: set {ALLOW_INSECURE_TLS}=true to accept that"
        )));
    }
    Ok(())
}

fn redis_error(error: &redis::RedisError) -> StoreError {
    if error.is_timeout() {
        StoreError::Unavailable(format!("redis timed out: {:?}", error.kind()))
    } else {
        StoreError::Unavailable(format!("redis: {:?}", error.kind()))
    }
}

impl RedisLink {
    /// A link to the server at `url` (read from `var`); connects on first use.
    pub fn new(
        var: &'static str,
        url: &str,
        connect_timeout: Duration,
        command_timeout: Duration,
    ) -> Result<Self, ConfigError> {
        let client = redis::Client::open(url).map_err(|_| ConfigError::Invalid {
            var,
            reason: "not a Redis URL".into(),
        })?;
        if insecure_tls(url) {
            tracing::warn!(
                "{var} ends in #insecure: the Redis server's TLS certificate is not checked"
            );
        }
        Ok(Self {
            client,
            connect_timeout,
            command_timeout,
            connection: tokio::sync::Mutex::new(None),
        })
    }

    /// The connection, made (under the connect timeout) when there is none.
    pub async fn connection(&self) -> Result<MultiplexedConnection, StoreError> {
        let mut slot = self.connection.lock().await;
        if let Some(connection) = slot.as_ref() {
            return Ok(connection.clone());
        }
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.connect_timeout))
            .set_response_timeout(Some(self.command_timeout));
        let connect = self
            .client
            .get_multiplexed_async_connection_with_config(&config);
        let connection = match tokio::time::timeout(self.connect_timeout, connect).await {
            Ok(Ok(connection)) => connection,
            Ok(Err(error)) => return Err(redis_error(&error)),
            Err(_) => return Err(StoreError::Timeout(self.connect_timeout)),
        };
        *slot = Some(connection.clone());
        Ok(connection)
    }

    /// Forgets the connection after a failure: the next request connects anew.
    async fn reset(&self) {
        *self.connection.lock().await = None;
    }

    /// Runs one exchange (a command, a pipeline or a script) on the connection under the
    /// command timeout; any failure drops the connection.
    pub async fn run<T, F, Fut>(&self, exchange: F) -> Result<T, StoreError>
    where
        F: FnOnce(MultiplexedConnection) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let connection = self.connection().await?;
        let result = match tokio::time::timeout(
            self.command_timeout,
            exchange(connection).instrument(RoundTrip::Redis.span()),
        )
        .await
        {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(error)) => redis_error(&error),
            Err(_) => StoreError::Timeout(self.command_timeout),
        };
        self.reset().await;
        Err(result)
    }
}
