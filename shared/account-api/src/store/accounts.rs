//! Linked accounts (sign-in methods): never their tokens or password hash.

use auth_core::StoreError;
use auth_core::schema::{AccountField, TableLayout};
use auth_core::store::postgres::projection::{Projection, Slot};
use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::Row;

use super::{AccountError, AccountStore, iso, text};

/// A linked account: never its tokens or password hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountInfo {
    /// id
    pub id: String,
    /// providerId (`credential`, `github`, …)
    pub provider_id: String,
    /// accountId (the provider's id for the user)
    pub account_id: String,
    /// userId
    pub user_id: String,
    /// scope
    pub scope: Option<String>,
    /// createdAt
    #[serde(serialize_with = "iso")]
    pub created_at: Option<DateTime<Utc>>,
    /// updatedAt
    #[serde(serialize_with = "iso")]
    pub updated_at: Option<DateTime<Utc>>,
}

/// The projection of an [`AccountInfo`].
#[derive(Debug, Clone, Copy)]
struct AccountColumns {
    id: Slot<String>,
    provider_id: Slot<Option<String>>,
    account_id: Slot<Option<String>>,
    user_id: Slot<String>,
    scope: Slot<Option<String>>,
    created_at: Slot<Option<DateTime<Utc>>>,
    updated_at: Slot<Option<DateTime<Utc>>>,
}

impl AccountColumns {
    fn project(p: &mut Projection, accounts: &TableLayout<AccountField>) -> Self {
        Self {
            id: p.field(accounts, "a", AccountField::Id),
            provider_id: p.field(accounts, "a", AccountField::ProviderId),
            account_id: p.field(accounts, "a", AccountField::AccountId),
            user_id: p.field(accounts, "a", AccountField::UserId),
            scope: p.field(accounts, "a", AccountField::Scope),
            created_at: p.field(accounts, "a", AccountField::CreatedAt),
            updated_at: p.field(accounts, "a", AccountField::UpdatedAt),
        }
    }

    fn decode(&self, row: &Row) -> Result<AccountInfo, StoreError> {
        Ok(AccountInfo {
            id: self.id.read(row)?,
            provider_id: self.provider_id.read(row)?.unwrap_or_default(),
            account_id: self.account_id.read(row)?.unwrap_or_default(),
            user_id: self.user_id.read(row)?,
            scope: self.scope.read(row)?,
            created_at: self.created_at.read(row)?,
            updated_at: self.updated_at.read(row)?,
        })
    }
}

impl AccountStore<'_> {
    /// A user's linked accounts.
    pub async fn accounts_of(&self, user_id: &str) -> Result<Vec<AccountInfo>, AccountError> {
        let accounts = self
            .layout
            .table::<AccountField>()
            .ok_or(AccountError::Unsupported("no account table"))?;
        let order = match accounts.column(AccountField::CreatedAt) {
            Some(_) => accounts.col("a", AccountField::CreatedAt),
            None => accounts.col("a", AccountField::Id),
        };
        let mut p = Projection::default();
        let account = AccountColumns::project(&mut p, accounts);
        let sql = format!(
            "SELECT {} FROM {} AS a WHERE {} ORDER BY {order}",
            p.list(),
            accounts.sql_name(),
            accounts.eq_param("a", AccountField::UserId, 1)
        );
        let rows = self.run(&sql, &[text(user_id)]).await?;
        Ok(rows
            .iter()
            .map(|r| account.decode(r))
            .collect::<Result<Vec<_>, _>>()?)
    }
}
