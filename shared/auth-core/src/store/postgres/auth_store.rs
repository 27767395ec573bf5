//! [`AuthStore`] for [`Database`]: each lookup of the port, run with the statement prepared for
//! the detected layout and decoded by the projection that wrote it.

use tokio_postgres::Row;
use tokio_postgres::types::Type;

use super::Database;
use super::replica::Statement;
use crate::identity::{ApiKeyRecord, OAuthSubject, OAuthTokenRecord, SessionRecord};
use crate::store::port::{
    AuthStore, KeyUseGuard, OAuthSubjectLookup, OrganizationRoleRow, StoreError, StoredKey, UserBan,
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

    async fn oauth_access_token(
        &self,
        token_hash: &str,
        userinfo: &str,
    ) -> Result<Option<OAuthTokenRecord>, StoreError> {
        let prepared = self.prepared().await?;
        let statement = prepared.oauth_token()?;
        // Not on the replica (a token issued a moment ago), or found there with a subject that
        // refuses (a client, session or user created a moment ago): asked of the primary.
        let refuses = |rows: &[Row]| {
            rows.first()
                .and_then(|row| statement.decode(row).ok())
                .is_none_or(|record| !subject_allows(&record.subject, record.user_id.is_some()))
        };
        let rows = self
            .run(
                Statement::OAuthAccessToken,
                &statement.sql,
                &[(&token_hash, Type::TEXT), (&userinfo, Type::TEXT)],
                refuses,
            )
            .await?;
        rows.first().map(|row| statement.decode(row)).transpose()
    }

    async fn oauth_subject(
        &self,
        lookup: &OAuthSubjectLookup<'_>,
    ) -> Result<OAuthSubject, StoreError> {
        let prepared = self.prepared().await?;
        let statement = prepared.oauth_subject()?;
        // A client-credentials token's `sub` is its client, looked up as a user only to rule
        // out a twin: no user there is what lets it through, not a refusal to re-check.
        let user_bound = lookup.user_id.is_some_and(|user| user != lookup.client_id);
        let refuses = |rows: &[Row]| {
            rows.first()
                .and_then(|row| statement.decode(row).ok())
                .is_none_or(|subject| !subject_allows(&subject, user_bound))
        };
        let rows = self
            .run(
                Statement::OAuthSubject,
                &statement.sql,
                &[
                    (&lookup.client_id, Type::TEXT),
                    (&lookup.user_id, Type::TEXT),
                    (&lookup.session_id, Type::TEXT),
                    (&lookup.audiences, Type::TEXT_ARRAY),
                ],
                refuses,
            )
            .await?;
        let row = rows
            .first()
            .ok_or_else(|| StoreError::Query("the OAuth subject query returned no row".into()))?;
        statement.decode(row)
    }
}

/// Whether what a replica found lets the token through (else the primary is asked: only what
/// restricts access may wait for the replica, never what grants it).
fn subject_allows(subject: &OAuthSubject, user_bound: bool) -> bool {
    subject.client_active
        && subject.session_alive
        && subject.resources_registered
        && (!user_bound || subject.user.is_some())
}
