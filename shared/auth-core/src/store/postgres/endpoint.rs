//! One endpoint's pool (the primary, or the reader) and the query loop every statement runs
//! through: the client-side statement timeout, one retry on a closed connection, and the switch
//! to unnamed statements when a transaction pooler loses named ones.

use std::sync::atomic::{AtomicBool, Ordering};

use deadpool_postgres::{Object, Pool};
use tokio_postgres::Row;
use tokio_postgres::types::{ToSql, Type};
use tracing::Instrument as _;

use super::connect::{self, describe, named_statement_lost, pool_error, types};
use super::settings::DatabaseSettings;
use crate::env::ConfigError;
use crate::store::port::StoreError;
use crate::telemetry::RoundTrip;

/// A lazily connecting pool to one server, with the settings it was built with.
pub(super) struct Endpoint {
    pub(super) pool: Pool,
    pub(super) settings: DatabaseSettings,
    /// Set once a pooler showed that named statements do not survive between round trips.
    unnamed_only: AtomicBool,
}

impl Endpoint {
    /// Builds the pool without connecting.
    pub(super) fn new(settings: DatabaseSettings) -> Result<Self, ConfigError> {
        Ok(Self {
            pool: connect::pool(&settings)?,
            settings,
            unnamed_only: AtomicBool::new(false),
        })
    }

    /// A pooled connection, or why none could be had within the connect timeout.
    pub(super) async fn client(&self) -> Result<Object, StoreError> {
        self.pool
            .get()
            .await
            .map_err(|e| pool_error(e, self.settings.connect_timeout))
    }

    /// Whether queries use cached named statements: configured so, and no pooler has shown that
    /// they do not survive between round trips.
    pub(super) fn named_statements(&self) -> bool {
        self.settings.prepared_statements && !self.unnamed_only.load(Ordering::Relaxed)
    }

    /// Prepares (and caches on a pooled connection) a statement ahead of its first use, when
    /// named statements are in use.
    pub(super) async fn prepare(&self, sql: &str, types: &[Type]) -> Result<(), StoreError> {
        if !self.named_statements() {
            return Ok(());
        }
        let client = self.client().await?;
        tokio::time::timeout(
            self.settings.statement_timeout,
            client.prepare_typed_cached(sql, types),
        )
        .await
        .map_err(|_| StoreError::Timeout(self.settings.statement_timeout))?
        .map_err(|e| StoreError::Query(describe(&e)))?;
        Ok(())
    }

    /// Runs a query under the statement timeout, retrying once on a fresh connection when the
    /// pooled one turns out to be closed. Uses cached named statements unless configured not to.
    pub(super) async fn query(
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
