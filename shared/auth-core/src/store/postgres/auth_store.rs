//! [`AuthStore`] for [`Database`]: each lookup of the port, run with the statement prepared for
//! the detected layout and decoded by the projection that wrote it.

use tokio_postgres::Row;
use tokio_postgres::types::Type;

use super::Database;
use super::replica::Statement;
use crate::identity::{ApiKeyRecord, SessionRecord};
use crate::store::port::{
    AuthStore, KeyUseGuard, OrganizationRoleRow, StoreError, StoredKey, UserBan,
};

impl AuthStore for Database {
    async fn find_session(&self, token: &str) -> Result<Option<SessionRecord>, StoreError> {
        let prepared = self.prepared().await?;
        let rows = self
            .run(
                Statement::SessionLookup,
                &prepared.session()?.sql,
                &[(&token, Type::TEXT)],
                <[Row]>::is_empty,
            )
            .await?;
        rows.first()
            .map(|row| prepared.session()?.decode(row))
            .transpose()
    }

    async fn user_ban(&self, user_id: &str) -> Result<Option<UserBan>, StoreError> {
        let prepared = self.prepared().await?;
        let rows = self
            .run(
                Statement::UserBan,
                &prepared.ban.sql,
                &[(&user_id, Type::TEXT)],
                <[Row]>::is_empty,
            )
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
            .run(
                Statement::SessionRefresh,
                &refresh.sql,
                &[
                    (&token, Type::TEXT),
                    (&observed, Type::TIMESTAMPTZ),
                    (&new_expiry, Type::TIMESTAMPTZ),
                ],
                <[Row]>::is_empty,
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
            .run(
                Statement::ApiKeyUse,
                &statement.sql,
                &[
                    (&key_hash, Type::TEXT),
                    (&guard.require_email_verified, Type::BOOL),
                    (&guard.refuse_anonymous, Type::BOOL),
                    (&guard.user_configs, Type::TEXT_ARRAY),
                    (&guard.organization_configs, Type::TEXT_ARRAY),
                ],
                <[Row]>::is_empty,
            )
            .await?;
        rows.first().map(|row| statement.decode(row)).transpose()
    }

    async fn jwks(&self) -> Result<Option<Vec<StoredKey>>, StoreError> {
        let prepared = self.prepared().await?;
        let Some(keys) = &prepared.keys else {
            return Ok(None);
        };
        let rows = self
            .run(Statement::Jwks, &keys.sql, &[], <[Row]>::is_empty)
            .await?;
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
            .run(
                Statement::OrganizationRoles,
                &roles.sql,
                &[(&organization_id, Type::TEXT)],
                <[Row]>::is_empty,
            )
            .await?;
        rows.iter().map(|row| roles.decode(row)).collect()
    }

    async fn has_organization_roles(&self) -> Result<bool, StoreError> {
        Ok(self.prepared().await?.roles.is_some())
    }
}
