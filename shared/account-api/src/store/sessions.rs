//! Sessions: list a user's active sessions and revoke them, with the layout's one revocation
//! strategy (delete the row, as Better Auth does, or set `revoked` where the table has it).

use auth_core::StoreError;
use auth_core::schema::{Projection, Revocation, SessionField, Slot, TableLayout};
use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::Row;

use super::{AccountError, AccountStore, Param, count, iso, iso_required, text};

/// A session as we show it: never its token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionInfo {
    /// id
    pub id: String,
    /// userId
    pub user_id: String,
    /// expiresAt
    #[serde(serialize_with = "iso_required")]
    pub expires_at: DateTime<Utc>,
    /// createdAt
    #[serde(serialize_with = "iso")]
    pub created_at: Option<DateTime<Utc>>,
    /// updatedAt
    #[serde(serialize_with = "iso")]
    pub updated_at: Option<DateTime<Utc>>,
    /// ipAddress
    pub ip_address: Option<String>,
    /// userAgent
    pub user_agent: Option<String>,
    /// impersonatedBy (admin plugin)
    pub impersonated_by: Option<String>,
}

/// The projection of a [`SessionInfo`].
#[derive(Debug, Clone, Copy)]
struct SessionColumns {
    id: Slot<String>,
    user_id: Slot<String>,
    expires_at: Slot<DateTime<Utc>>,
    created_at: Slot<Option<DateTime<Utc>>>,
    updated_at: Slot<Option<DateTime<Utc>>>,
    ip_address: Slot<Option<String>>,
    user_agent: Slot<Option<String>>,
    impersonated_by: Slot<Option<String>>,
}

impl SessionColumns {
    fn project(p: &mut Projection, sessions: &TableLayout<SessionField>) -> Self {
        Self {
            id: p.field(sessions, "s", SessionField::Id),
            user_id: p.field(sessions, "s", SessionField::UserId),
            expires_at: p.field(sessions, "s", SessionField::ExpiresAt),
            created_at: p.field(sessions, "s", SessionField::CreatedAt),
            updated_at: p.field(sessions, "s", SessionField::UpdatedAt),
            ip_address: p.field(sessions, "s", SessionField::IpAddress),
            user_agent: p.field(sessions, "s", SessionField::UserAgent),
            impersonated_by: p.field(sessions, "s", SessionField::ImpersonatedBy),
        }
    }

    fn decode(&self, row: &Row) -> Result<SessionInfo, StoreError> {
        Ok(SessionInfo {
            id: self.id.read(row)?,
            user_id: self.user_id.read(row)?,
            expires_at: self.expires_at.read(row)?,
            created_at: self.created_at.read(row)?,
            updated_at: self.updated_at.read(row)?,
            ip_address: self.ip_address.read(row)?,
            user_agent: self.user_agent.read(row)?,
            impersonated_by: self.impersonated_by.read(row)?,
        })
    }
}

impl AccountStore<'_> {
    /// The session table; `Unsupported` when sessions live in secondary storage alone.
    pub(crate) fn sessions(&self) -> Result<&TableLayout<SessionField>, AccountError> {
        let unsupported = AccountError::Unsupported(
            "sessions are kept in secondary storage: list, revoke and ban with Better Auth's own endpoints",
        );
        if self.sessions_in_secondary_storage {
            return Err(unsupported);
        }
        self.layout.session.as_ref().ok_or(unsupported)
    }

    /// One session by id (any state).
    pub async fn session(&self, id: &str) -> Result<Option<SessionInfo>, AccountError> {
        let sessions = self.sessions()?;
        let mut p = Projection::default();
        let session = SessionColumns::project(&mut p, sessions);
        let sql = format!(
            "SELECT {} FROM {} AS s WHERE {}",
            p.list(),
            sessions.sql_name(),
            sessions.eq_param("s", SessionField::Id, 1)
        );
        let rows = self.run(&sql, &[text(id)]).await?;
        Ok(rows.first().map(|r| session.decode(r)).transpose()?)
    }

    /// A user's active sessions (not expired, not revoked), newest first. Without
    /// `impersonations`, sessions an admin opened as this user are left out, as Better Auth's
    /// `/list-sessions` leaves them out of the user's own list.
    pub async fn sessions_of(
        &self,
        user_id: &str,
        impersonations: bool,
    ) -> Result<Vec<SessionInfo>, AccountError> {
        let sessions = self.sessions()?;
        let order = match sessions.column(SessionField::CreatedAt) {
            Some(_) => format!("{} DESC", sessions.col("s", SessionField::CreatedAt)),
            None => sessions.col("s", SessionField::Id),
        };
        let mut p = Projection::default();
        let session = SessionColumns::project(&mut p, sessions);
        let hidden = match sessions.column(SessionField::ImpersonatedBy) {
            Some(_) if !impersonations => format!(
                " AND {} IS NULL",
                sessions.col("s", SessionField::ImpersonatedBy)
            ),
            _ => String::new(),
        };
        let sql = format!(
            "SELECT {} FROM {} AS s WHERE {} AND {}{hidden} ORDER BY {order}",
            p.list(),
            sessions.sql_name(),
            sessions.eq_param("s", SessionField::UserId, 1),
            self.layout.session_active(sessions)
        );
        let rows = self.run(&sql, &[text(user_id)]).await?;
        Ok(rows
            .iter()
            .map(|r| session.decode(r))
            .collect::<Result<_, _>>()?)
    }

    /// Revokes the sessions `condition` selects; returns how many.
    async fn revoke_where(
        &self,
        mut condition: String,
        params: &[Param],
    ) -> Result<u64, AccountError> {
        let sessions = self.sessions()?;
        let revocation = &self.layout.revocation;
        if matches!(revocation, Revocation::Flag(_)) {
            // Already revoked rows do not count again.
            condition.push_str(&format!(" AND {}", self.layout.session_active(sessions)));
        }
        let sql = format!(
            "WITH r AS ({} RETURNING 1) SELECT count(*) FROM r",
            revocation.statement(sessions, None, &condition)
        );
        Ok(count(&self.run(&sql, params).await?)?)
    }

    /// Revokes all of a user's sessions, except `keep` (a session id) when given. Returns how
    /// many were revoked.
    pub async fn revoke_sessions(
        &self,
        user_id: &str,
        keep: Option<&str>,
    ) -> Result<u64, AccountError> {
        let sessions = self.sessions()?;
        let mut condition = sessions.eq_param("s", SessionField::UserId, 1);
        let mut params = vec![text(user_id)];
        if let Some(keep) = keep {
            condition.push_str(&format!(
                " AND {}::text <> $2",
                sessions.col("s", SessionField::Id)
            ));
            params.push(text(keep));
        }
        self.revoke_where(condition, &params).await
    }

    /// Revokes one session if it belongs to `user_id`. Returns whether it did.
    pub async fn revoke_session(
        &self,
        user_id: &str,
        session_id: &str,
    ) -> Result<bool, AccountError> {
        let sessions = self.sessions()?;
        let condition = format!(
            "{} AND {}",
            sessions.eq_param("s", SessionField::UserId, 1),
            sessions.eq_param("s", SessionField::Id, 2)
        );
        Ok(self
            .revoke_where(condition, &[text(user_id), text(session_id)])
            .await?
            > 0)
    }
}
