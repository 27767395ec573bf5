//! Read replicas: which statement goes where (decided here, once, in [`Statement::target`]),
//! the reader endpoint with its lag gate, and the fall-back to the primary.
//!
//! | statement | endpoint | why |
//! |---|---|---|
//! | session lookup, user ban, JWKS keys, organization membership, dynamic roles | reader | plain `SELECT`s: the authorizer's hot path |
//! | schema detection | reader | the catalogue as replicated (a migration is seen within `BETTER_AUTH_SCHEMA_REFRESH_SECONDS` plus the lag), so that a container that only reads never opens a connection to the primary |
//! | API key use | primary | `UPDATE … RETURNING` (usage counters, rate limit) and `DELETE` of spent keys |
//! | sliding refresh | primary | `UPDATE … RETURNING` |
//! | everything the account functions run (`Database::query`, `pool`, `client`) | primary | their changes and the reads they make around them |
//!
//! A read goes to the reader only while it keeps up: with `DATABASE_READ_MAX_LAG_MS`, the
//! replica's lag is measured at most once per `DATABASE_READ_LAG_CHECK_INTERVAL_MS` (by the
//! request that finds the last measurement older than that; requests meanwhile read from the
//! primary), and above the bound reads go to the primary until the next measurement. A reader
//! that fails (unreachable, a timeout, an error) is skipped for the interval (at least
//! [`RETRY_AFTER_FAILURE`]) and the read is made on the primary, whose error, if it fails too,
//! is the answer: never an Allow on an error.
//!
//! An answer that says *absent* (no such session, user, key, membership, role) is confirmed on
//! the primary: a row created there a moment ago (a sign-in) is found at once, and only a
//! change that removes or restricts (a revocation, a ban, a membership removed) waits for the
//! replica, within its lag.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio_postgres::Row;
use tokio_postgres::types::{ToSql, Type};

use super::endpoint::Endpoint;
use super::settings::{DatabaseSettings, ReadSettings};
use crate::env::ConfigError;
use crate::store::port::StoreError;

/// A reader that failed is not tried again for at least this long (nor for less than the check
/// interval), so that a black-holed replica costs one request a connect timeout now and then,
/// not every request.
pub(crate) const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(5);

/// The statements the authenticator runs, named so that where each goes is decided here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Statement {
    /// The session by token, joined with its user (and active organization).
    SessionLookup,
    /// A user's ban (an impersonating admin's; sessions read from secondary storage).
    UserBan,
    /// The jwt plugin's public keys.
    Jwks,
    /// An active organization's membership (sessions read from secondary storage).
    Membership,
    /// An organization's dynamic roles (`organizationRole`).
    OrganizationRoles,
    /// An opaque OAuth access token by hash, with its client, session and user.
    OAuthAccessToken,
    /// An OAuth JWT access token's client, session, resources and user.
    OAuthSubject,
    /// An API key's use: counts it (`UPDATE … RETURNING`), deletes a spent key.
    ApiKeyUse,
    /// The sliding refresh of a session's expiry (`UPDATE … RETURNING`).
    SessionRefresh,
    /// The schema detection (the catalogue).
    SchemaDetection,
}

/// Where a statement runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// The primary (`DATABASE_URL`): every write, and what must see them at once.
    Primary,
    /// The reader endpoint (`DATABASE_READ_URL`) when there is one and it keeps up, else the
    /// primary.
    Reader,
}

impl Statement {
    /// The one place the read/write split is decided (the table in this module's docs).
    pub(crate) const fn target(self) -> Target {
        match self {
            Self::SessionLookup
            | Self::UserBan
            | Self::Jwks
            | Self::Membership
            | Self::OrganizationRoles
            | Self::OAuthAccessToken
            | Self::OAuthSubject
            | Self::SchemaDetection => Target::Reader,
            Self::ApiKeyUse | Self::SessionRefresh => Target::Primary,
        }
    }
}

/// The replica's lag in milliseconds, or NULL when it cannot tell:
///
/// - not in recovery: NULL, "cannot tell" (reads go to the primary, with one warning). A
///   promoted replica, or a URL naming some primary, never receives what `DATABASE_URL`'s
///   primary writes (revocations, bans): it must never count as caught up;
/// - everything received has been replayed and the WAL receiver is running: no lag. This is
///   the idle primary's case, where `now() - pg_last_xact_replay_timestamp()` keeps growing
///   although nothing is pending; a replica cut off from its primary has no receiver row
///   (`pg_stat_wal_receiver` shows one to every user, its details only to `pg_read_all_stats`),
///   so its lag then grows with the time since its last replayed commit;
/// - otherwise (WAL received and not yet replayed): the age of the last replayed commit.
///
/// WAL the primary has sent but the replica has not yet received (the network) is not visible
/// from the replica: on a healthy streaming link that is milliseconds, but on a link that
/// silently stops delivering, the receiver (and its row) stays until the replica's
/// `wal_receiver_timeout` (default 60 s) ends it, and the lag reads 0 meanwhile. That window is
/// part of the stated bound (docs/deployment.md).
pub const LAG_SQL: &str = "SELECT CASE \
     WHEN NOT pg_is_in_recovery() THEN NULL::float8 \
     WHEN pg_last_wal_replay_lsn() >= pg_last_wal_receive_lsn() \
          AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver) THEN 0::float8 \
     ELSE (EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) * 1000)::float8 \
     END";

/// The last decision about the reader, and until when it holds.
#[derive(Debug, Clone, Copy)]
struct Verdict {
    use_reader: bool,
    /// `None`: never decided (the first read measures, or, without a bound, uses the reader).
    until: Option<Instant>,
}

/// The reader endpoint and its gate.
pub(super) struct Reader {
    endpoint: Endpoint,
    max_lag: Option<Duration>,
    interval: Duration,
    verdict: Mutex<Verdict>,
    /// Held by the one request that measures the lag.
    measuring: tokio::sync::Mutex<()>,
    /// Whether "the replica cannot report its lag" was logged already.
    warned_unknown: AtomicBool,
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("status", &self.endpoint.pool.status())
            .field("max_lag", &self.max_lag)
            .field("interval", &self.interval)
            .field("verdict", &self.current())
            .finish_non_exhaustive()
    }
}

impl Reader {
    /// Builds the reader's pool without connecting.
    pub(super) fn new(
        settings: DatabaseSettings,
        read: &ReadSettings,
    ) -> Result<Self, ConfigError> {
        Ok(Self {
            endpoint: Endpoint::new(settings)?,
            max_lag: read.max_lag,
            interval: read.check_interval,
            verdict: Mutex::new(Verdict {
                use_reader: true,
                until: None,
            }),
            measuring: tokio::sync::Mutex::new(()),
            warned_unknown: AtomicBool::new(false),
        })
    }

    fn current(&self) -> Verdict {
        *self
            .verdict
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn decide(&self, use_reader: bool, hold: Duration) {
        *self
            .verdict
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Verdict {
            use_reader,
            until: Some(Instant::now() + hold),
        };
    }

    /// Skips the reader for a while after it failed.
    fn failed(&self) {
        self.decide(false, self.interval.max(RETRY_AFTER_FAILURE));
    }

    /// Whether this read goes to the reader. A hot-path call is one uncontended lock.
    async fn use_reader(&self) -> bool {
        let verdict = self.current();
        if verdict.until.is_some_and(|until| Instant::now() < until) {
            return verdict.use_reader;
        }
        let Some(max_lag) = self.max_lag else {
            // No bound: the reader is used unless it failed within its back-off.
            return true;
        };
        // Stale: one request measures; the others read from the primary meanwhile, so no read
        // relies on a measurement older than the interval.
        let Ok(_measuring) = self.measuring.try_lock() else {
            return false;
        };
        let verdict = self.current();
        if verdict.until.is_some_and(|until| Instant::now() < until) {
            return verdict.use_reader;
        }
        match self.lag().await {
            Ok(Some(lag)) => {
                let keeps_up = lag <= max_lag;
                if !keeps_up {
                    tracing::warn!(
                        lag_ms = lag.as_millis() as u64,
                        max_lag_ms = max_lag.as_millis() as u64,
                        "the read replica lags more than DATABASE_READ_MAX_LAG_MS; reading from the primary"
                    );
                }
                self.decide(keeps_up, self.interval);
                keeps_up
            }
            Ok(None) => {
                if !self.warned_unknown.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        "the read replica does not report its lag (pg_last_xact_replay_timestamp() \
                         is NULL); with DATABASE_READ_MAX_LAG_MS set, reads go to the primary"
                    );
                }
                self.decide(false, self.interval);
                false
            }
            Err(error) => {
                tracing::warn!(error = %error, "the read replica's lag could not be read; reading from the primary");
                self.failed();
                false
            }
        }
    }

    /// The replica's lag as it reports it ([`LAG_SQL`]); `None` when it cannot tell.
    async fn lag(&self) -> Result<Option<Duration>, StoreError> {
        let rows = self.endpoint.query(LAG_SQL, &[]).await?;
        let millis: Option<f64> = rows
            .first()
            .map(|row| row.try_get(0))
            .transpose()
            .map_err(|e| StoreError::Query(e.to_string()))?
            .flatten();
        Ok(millis.map(|ms| Duration::from_secs_f64(ms.max(0.0) / 1000.0)))
    }

    /// Runs a read on the reader when it keeps up, else (and when it fails, or answers an
    /// absence) on the primary.
    pub(super) async fn read(
        &self,
        primary: &Endpoint,
        statement: Statement,
        sql: &str,
        params: &[(&(dyn ToSql + Sync), Type)],
        absent: impl Fn(&[Row]) -> bool,
    ) -> Result<Vec<Row>, StoreError> {
        if self.use_reader().await {
            match self.endpoint.query(sql, params).await {
                Ok(rows) if !absent(&rows) => return Ok(rows),
                // An absence may be a row the replica has not replayed yet: the primary decides.
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(
                        statement = ?statement,
                        error = %error,
                        "the read replica failed; reading from the primary"
                    );
                    self.failed();
                }
            }
        }
        primary.query(sql, params).await
    }

    /// Opens a connection and prepares `sql` on it at start-up; a failure is logged and left to
    /// the first read (which falls back to the primary).
    pub(super) async fn warm_up(&self, sql: &str, types: &[Type]) {
        if let Err(error) = self.endpoint.prepare(sql, types).await {
            tracing::warn!(error = %error, "could not reach the read replica at start-up");
        }
    }
}
