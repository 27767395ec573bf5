//! Sessions: list a user's active sessions and revoke them, where Better Auth keeps them: the
//! session table, with the layout's one revocation strategy (delete the row, as Better Auth
//! does, or set `revoked` where the table has it), or secondary storage (and the table too with
//! `storeSessionInDatabase`).

use std::collections::HashSet;

use auth_core::StoreError;
use auth_core::schema::{Revocation, SessionField, TableLayout};
use auth_core::store::postgres::projection::{Projection, Slot};
use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::Row;

use super::stored_sessions::StoredSessions;
use super::users::UserRecord;
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

/// Where this deployment's sessions are, for the account API.
enum Place<'s> {
    /// The session table (Better Auth's default).
    Database(&'s TableLayout<SessionField>),
    /// Secondary storage; with `rows`, the session table too (`storeSessionInDatabase`).
    Storage {
        stored: StoredSessions<'s>,
        rows: Option<StoredRows<'s>>,
        /// Better Auth lists sessions from the table (`storeSessionInDatabase` without
        /// `preserveSessionInDatabase`); else from storage.
        listed_from_rows: bool,
    },
}

/// The session table beside secondary storage.
#[derive(Clone, Copy)]
struct StoredRows<'s> {
    table: &'s TableLayout<SessionField>,
    /// `preserveSessionInDatabase`: a revoked row is kept and its `expiresAt` set to now.
    preserve: bool,
}

impl AccountStore<'_> {
    /// The session table; `Unsupported` when sessions live in secondary storage alone.
    pub(crate) fn sessions(&self) -> Result<&TableLayout<SessionField>, AccountError> {
        self.layout
            .session
            .as_ref()
            .ok_or(AccountError::Unsupported("there is no session table"))
    }

    fn place(&self) -> Result<Place<'_>, AccountError> {
        let Some(redis) = self.secondary else {
            return Ok(Place::Database(self.sessions()?));
        };
        let settings = redis.settings();
        let rows = if settings.store_session_in_database {
            Some(StoredRows {
                table: self.sessions()?,
                preserve: settings.preserve_session_in_database,
            })
        } else {
            None
        };
        Ok(Place::Storage {
            stored: StoredSessions::new(redis),
            rows,
            listed_from_rows: settings.falls_back_to_database(),
        })
    }

    /// Whether sessions are kept in secondary storage.
    pub fn sessions_in_secondary_storage(&self) -> bool {
        self.secondary.is_some()
    }

    /// One of the user's active sessions by id; `None` when it is not theirs or not active.
    pub async fn session_of(
        &self,
        user_id: &str,
        session_id: &str,
    ) -> Result<Option<SessionInfo>, AccountError> {
        Ok(self
            .live_sessions(user_id)
            .await?
            .into_iter()
            .map(|(_, info)| info)
            .find(|s| s.id == session_id))
    }

    /// A user's active sessions (not expired, not revoked), newest first. Without
    /// `impersonations`, sessions an admin opened as this user are left out, as Better Auth's
    /// `/list-sessions` leaves them out of the user's own list.
    pub async fn sessions_of(
        &self,
        user_id: &str,
        impersonations: bool,
    ) -> Result<Vec<SessionInfo>, AccountError> {
        let mut sessions: Vec<SessionInfo> = self
            .live_sessions(user_id)
            .await?
            .into_iter()
            .map(|(_, info)| info)
            .filter(|s| impersonations || s.impersonated_by.is_none())
            .collect();
        sessions.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)));
        Ok(sessions)
    }

    /// The user's active sessions with their tokens (kept inside the store), from where Better
    /// Auth lists them.
    async fn live_sessions(
        &self,
        user_id: &str,
    ) -> Result<Vec<(String, SessionInfo)>, AccountError> {
        match self.place()? {
            Place::Database(table) => self.rows_of(table, user_id).await,
            Place::Storage {
                rows: Some(rows),
                listed_from_rows: true,
                ..
            } => self.rows_of(rows.table, user_id).await,
            Place::Storage { stored, .. } => {
                let Some(user_id) = self.canonical_user_id(user_id).await? else {
                    return Ok(Vec::new());
                };
                Ok(stored
                    .list(&user_id)
                    .await?
                    .into_iter()
                    .map(|s| (s.token, s.info))
                    .collect())
            }
        }
    }

    /// The user's id as stored (one primary-key lookup), `None` when there is no such user:
    /// what secondary-storage keys are built from.
    async fn canonical_user_id(&self, user_id: &str) -> Result<Option<String>, AccountError> {
        Ok(self.user(user_id).await?.map(|user| user.id))
    }

    /// The active rows of a user's sessions, with their tokens.
    async fn rows_of(
        &self,
        sessions: &TableLayout<SessionField>,
        user_id: &str,
    ) -> Result<Vec<(String, SessionInfo)>, AccountError> {
        let mut p = Projection::default();
        let token: Slot<String> = p.field(sessions, "s", SessionField::Token);
        let session = SessionColumns::project(&mut p, sessions);
        let sql = format!(
            "SELECT {} FROM {} AS s WHERE {} AND {}",
            p.list(),
            sessions.sql_name(),
            sessions.eq_param("s", SessionField::UserId, 1),
            self.layout.session_active(sessions)
        );
        let rows = self.run(&sql, &[text(user_id)]).await?;
        Ok(rows
            .iter()
            .map(|r| Ok((token.read(r)?, session.decode(r)?)))
            .collect::<Result<_, StoreError>>()?)
    }

    /// Revokes the rows `condition` selects; returns how many. With `preserve`
    /// (`preserveSessionInDatabase`), rows are kept and their `expiresAt` set to now, as
    /// Better Auth ends preserved sessions.
    async fn revoke_rows(
        &self,
        sessions: &TableLayout<SessionField>,
        mut condition: String,
        params: &[Param],
        preserve: bool,
    ) -> Result<u64, AccountError> {
        let revocation = &self.layout.revocation;
        if preserve || matches!(revocation, Revocation::Flag(_)) {
            // Already ended rows do not count again.
            condition.push_str(&format!(" AND {}", self.layout.session_active(sessions)));
        }
        let statement = if preserve {
            let mut sets = sessions
                .assign(
                    SessionField::ExpiresAt,
                    &sessions.ts_value(SessionField::ExpiresAt, "now()"),
                )
                .into_iter()
                .collect::<Vec<_>>();
            sets.extend(sessions.touch(SessionField::UpdatedAt));
            format!(
                "UPDATE {} AS s SET {} WHERE {condition}",
                sessions.sql_name(),
                sets.join(", ")
            )
        } else {
            revocation.statement(sessions, None, &condition)
        };
        let sql = format!("WITH r AS ({statement} RETURNING 1) SELECT count(*) FROM r");
        Ok(count(&self.run(&sql, params).await?)?)
    }

    /// Revokes all of a user's sessions, except `keep` (a session id) when given. Returns how
    /// many were revoked. In secondary storage, as Better Auth's `/revoke-sessions` (every
    /// session: keys deleted, the user's revocation marker set) and `/revoke-other-sessions`.
    pub async fn revoke_sessions(
        &self,
        user_id: &str,
        keep: Option<&str>,
    ) -> Result<u64, AccountError> {
        let user_rows = |table: &TableLayout<SessionField>| {
            let mut condition = table.eq_param("s", SessionField::UserId, 1);
            let mut params = vec![text(user_id)];
            if let Some(keep) = keep {
                condition.push_str(&format!(
                    " AND {}::text <> $2",
                    table.col("s", SessionField::Id)
                ));
                params.push(text(keep));
            }
            (condition, params)
        };
        match self.place()? {
            Place::Database(table) => {
                let (condition, params) = user_rows(table);
                self.revoke_rows(table, condition, &params, false).await
            }
            Place::Storage { stored, rows, .. } => {
                // Redis keys are built from the id as stored, never as typed in the path
                // (`/users/<UPPER-CASE-UUID>/sessions`, `/users/007/…`): issue 27, F5.
                let Some(user_id) = self.canonical_user_id(user_id).await? else {
                    return Ok(0);
                };
                let user_id = user_id.as_str();
                let listed = stored.listed_tokens(user_id).await?;
                let mut tokens: HashSet<String> = stored
                    .sessions_listed(user_id, listed.clone())
                    .await?
                    .into_iter()
                    .filter(|s| Some(s.info.id.as_str()) != keep)
                    .map(|s| s.token)
                    .collect();
                let mut ended = 0;
                if let Some(rows) = rows {
                    for (token, info) in self.rows_of(rows.table, user_id).await? {
                        if Some(info.id.as_str()) != keep {
                            tokens.insert(token);
                        }
                    }
                    let (condition, params) = user_rows(rows.table);
                    ended = self
                        .revoke_rows(rows.table, condition, &params, rows.preserve)
                        .await?;
                }
                let live = tokens.len() as u64;
                let every_session = keep.is_none().then_some(listed.as_slice());
                if every_session.is_some() {
                    // Every listed key goes, readable or not (Better Auth's
                    // `deleteUserSessions` takes the list as it is).
                    tokens.extend(listed.iter().map(|(t, _)| t.clone()));
                }
                let tokens: Vec<String> = tokens.into_iter().collect();
                stored.delete(user_id, &tokens, every_session).await?;
                Ok(live.max(ended))
            }
        }
    }

    /// Revokes one session if it is one of `user_id`'s active sessions. Returns whether it did.
    pub async fn revoke_session(
        &self,
        user_id: &str,
        session_id: &str,
    ) -> Result<bool, AccountError> {
        match self.place()? {
            Place::Database(table) => {
                let condition = format!(
                    "{} AND {}",
                    table.eq_param("s", SessionField::UserId, 1),
                    table.eq_param("s", SessionField::Id, 2)
                );
                let params = [text(user_id), text(session_id)];
                Ok(self.revoke_rows(table, condition, &params, false).await? > 0)
            }
            Place::Storage { stored, rows, .. } => {
                let Some(user_id) = self.canonical_user_id(user_id).await? else {
                    return Ok(false);
                };
                let user_id = user_id.as_str();
                let Some((token, _)) = self
                    .live_sessions(user_id)
                    .await?
                    .into_iter()
                    .find(|(_, info)| info.id == session_id)
                else {
                    return Ok(false);
                };
                let deleted = stored
                    .delete(user_id, std::slice::from_ref(&token), None)
                    .await?;
                let mut ended = 0;
                if let Some(rows) = rows {
                    let condition = rows.table.eq_param("s", SessionField::Token, 1);
                    ended = self
                        .revoke_rows(rows.table, condition, &[text(token)], rows.preserve)
                        .await?;
                }
                Ok(deleted + ended > 0)
            }
        }
    }

    /// After a user changed: their sessions in secondary storage carry the new user, as Better
    /// Auth's `refreshUserSessions` keeps them (the authorizer reads role and ban from there).
    pub(crate) async fn refresh_snapshots(&self, user: &UserRecord) -> Result<(), AccountError> {
        if let Some(redis) = self.secondary {
            let value = serde_json::to_value(user)
                .map_err(|e| StoreError::Query(format!("user snapshot: {e}")))?;
            StoredSessions::new(redis)
                .refresh_user(&user.id, &value)
                .await?;
        }
        Ok(())
    }
}
