//! API keys (`@better-auth/api-key`): a user's keys and their deletion. Never the key's hash.

use auth_core::StoreError;
use auth_core::schema::{ApiKeyField, TableLayout};
use auth_core::store::postgres::lookups::accepted_config;
use auth_core::store::postgres::projection::{Projection, Slot};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use tokio_postgres::Row;

use tokio_postgres::types::Type;

use super::{AccountError, AccountStore, Param, count, iso, text};

/// An API key as we show it: what Better Auth's `/api-key/list` shows, never the hash.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyInfo {
    /// id
    pub id: String,
    /// referenceId (the owner)
    pub reference_id: String,
    /// name
    pub name: Option<String>,
    /// start: the key's first characters, for recognising it
    pub start: Option<String>,
    /// prefix
    pub prefix: Option<String>,
    /// enabled
    pub enabled: Option<bool>,
    /// remaining uses (`null`: unlimited)
    pub remaining: Option<i64>,
    /// refillAmount
    pub refill_amount: Option<i64>,
    /// refillInterval (ms)
    pub refill_interval: Option<i64>,
    /// lastRefillAt
    #[serde(serialize_with = "iso")]
    pub last_refill_at: Option<DateTime<Utc>>,
    /// rateLimitEnabled
    pub rate_limit_enabled: Option<bool>,
    /// rateLimitTimeWindow (ms)
    pub rate_limit_time_window: Option<i64>,
    /// rateLimitMax
    pub rate_limit_max: Option<i64>,
    /// requestCount (in the current window)
    pub request_count: Option<i64>,
    /// lastRequest
    #[serde(serialize_with = "iso")]
    pub last_request: Option<DateTime<Utc>>,
    /// expiresAt
    #[serde(serialize_with = "iso")]
    pub expires_at: Option<DateTime<Utc>>,
    /// permissions, parsed (as Better Auth returns them)
    pub permissions: Option<Value>,
    /// createdAt
    #[serde(serialize_with = "iso")]
    pub created_at: Option<DateTime<Utc>>,
    /// updatedAt
    #[serde(serialize_with = "iso")]
    pub updated_at: Option<DateTime<Utc>>,
}

/// The projection of an [`ApiKeyInfo`].
#[derive(Debug, Clone, Copy)]
struct ApiKeyColumns {
    id: Slot<String>,
    reference_id: Slot<String>,
    name: Slot<Option<String>>,
    start: Slot<Option<String>>,
    prefix: Slot<Option<String>>,
    enabled: Slot<Option<bool>>,
    remaining: Slot<Option<i64>>,
    refill_amount: Slot<Option<i64>>,
    refill_interval: Slot<Option<i64>>,
    last_refill_at: Slot<Option<DateTime<Utc>>>,
    rate_limit_enabled: Slot<Option<bool>>,
    rate_limit_time_window: Slot<Option<i64>>,
    rate_limit_max: Slot<Option<i64>>,
    request_count: Slot<Option<i64>>,
    last_request: Slot<Option<DateTime<Utc>>>,
    expires_at: Slot<Option<DateTime<Utc>>>,
    permissions: Slot<Option<String>>,
    created_at: Slot<Option<DateTime<Utc>>>,
    updated_at: Slot<Option<DateTime<Utc>>>,
}

impl ApiKeyColumns {
    fn project(p: &mut Projection, keys: &TableLayout<ApiKeyField>) -> Self {
        Self {
            id: p.field(keys, "k", ApiKeyField::Id),
            reference_id: p.field(keys, "k", ApiKeyField::ReferenceId),
            name: p.field(keys, "k", ApiKeyField::Name),
            start: p.field(keys, "k", ApiKeyField::Start),
            prefix: p.field(keys, "k", ApiKeyField::Prefix),
            enabled: p.field(keys, "k", ApiKeyField::Enabled),
            remaining: p.field(keys, "k", ApiKeyField::Remaining),
            refill_amount: p.field(keys, "k", ApiKeyField::RefillAmount),
            refill_interval: p.field(keys, "k", ApiKeyField::RefillInterval),
            last_refill_at: p.field(keys, "k", ApiKeyField::LastRefillAt),
            rate_limit_enabled: p.field(keys, "k", ApiKeyField::RateLimitEnabled),
            rate_limit_time_window: p.field(keys, "k", ApiKeyField::RateLimitTimeWindow),
            rate_limit_max: p.field(keys, "k", ApiKeyField::RateLimitMax),
            request_count: p.field(keys, "k", ApiKeyField::RequestCount),
            last_request: p.field(keys, "k", ApiKeyField::LastRequest),
            expires_at: p.field(keys, "k", ApiKeyField::ExpiresAt),
            permissions: p.field(keys, "k", ApiKeyField::Permissions),
            created_at: p.field(keys, "k", ApiKeyField::CreatedAt),
            updated_at: p.field(keys, "k", ApiKeyField::UpdatedAt),
        }
    }

    fn decode(&self, row: &Row) -> Result<ApiKeyInfo, StoreError> {
        Ok(ApiKeyInfo {
            id: self.id.read(row)?,
            reference_id: self.reference_id.read(row)?,
            name: self.name.read(row)?,
            start: self.start.read(row)?,
            prefix: self.prefix.read(row)?,
            enabled: self.enabled.read(row)?,
            remaining: self.remaining.read(row)?,
            refill_amount: self.refill_amount.read(row)?,
            refill_interval: self.refill_interval.read(row)?,
            last_refill_at: self.last_refill_at.read(row)?,
            rate_limit_enabled: self.rate_limit_enabled.read(row)?,
            rate_limit_time_window: self.rate_limit_time_window.read(row)?,
            rate_limit_max: self.rate_limit_max.read(row)?,
            request_count: self.request_count.read(row)?,
            last_request: self.last_request.read(row)?,
            expires_at: self.expires_at.read(row)?,
            permissions: self
                .permissions
                .read(row)?
                .map(|text| serde_json::from_str(&text).unwrap_or(Value::String(text))),
            created_at: self.created_at.read(row)?,
            updated_at: self.updated_at.read(row)?,
        })
    }
}

impl AccountStore<'_> {
    fn api_key_table(&self) -> Result<&TableLayout<ApiKeyField>, AccountError> {
        self.layout
            .table::<ApiKeyField>()
            .ok_or(AccountError::Unsupported(
                "there is no API key table (apikey)",
            ))
    }

    /// The key-configuration parameter (`text[]`) of [`accepted_config`].
    fn configs_param(&self) -> Param {
        (Box::new(self.api_key_configs.clone()), Type::TEXT_ARRAY)
    }

    /// A user's API keys, newest first: those of the configurations whose keys are users'
    /// (an organization's keys have organization ids in `referenceId`).
    pub async fn api_keys_of(&self, user_id: &str) -> Result<Vec<ApiKeyInfo>, AccountError> {
        let keys = self.api_key_table()?;
        let order = match keys.column(ApiKeyField::CreatedAt) {
            Some(_) => format!("{} DESC", keys.col("k", ApiKeyField::CreatedAt)),
            None => keys.col("k", ApiKeyField::Id),
        };
        let mut p = Projection::default();
        let key = ApiKeyColumns::project(&mut p, keys);
        let sql = format!(
            "SELECT {} FROM {} AS k WHERE {} AND {} ORDER BY {order}",
            p.list(),
            keys.sql_name(),
            keys.eq_param("k", ApiKeyField::ReferenceId, 1),
            accepted_config(keys, "k", 2),
        );
        let rows = self
            .run(&sql, &[text(user_id), self.configs_param()])
            .await?;
        Ok(rows
            .iter()
            .map(|r| key.decode(r))
            .collect::<Result<Vec<_>, _>>()?)
    }

    /// Deletes a user's API key (one of the configurations whose keys are users'); with
    /// `owner`, only when it is theirs. Returns whether it did.
    pub async fn delete_api_key(
        &self,
        id: &str,
        owner: Option<&str>,
    ) -> Result<bool, AccountError> {
        let keys = self.api_key_table()?;
        let mut condition = format!(
            "{} AND {}",
            keys.eq_param("k", ApiKeyField::Id, 1),
            accepted_config(keys, "k", 2)
        );
        let mut params = vec![text(id), self.configs_param()];
        if let Some(owner) = owner {
            condition.push_str(&format!(
                " AND {}",
                keys.eq_param("k", ApiKeyField::ReferenceId, 3)
            ));
            params.push(text(owner));
        }
        let sql = format!(
            "WITH r AS (DELETE FROM {} AS k WHERE {condition} RETURNING 1) SELECT count(*) FROM r",
            keys.sql_name()
        );
        Ok(count(&self.run(&sql, &params).await?)? > 0)
    }
}
