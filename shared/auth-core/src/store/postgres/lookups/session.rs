//! The session by token (one round trip with its user and membership), and its refresh.

use chrono::{DateTime, Utc};
use tokio_postgres::Row;

use super::super::projection::{Projection, Slot};
use super::user::*;
use crate::identity::SessionRecord;
use crate::schema::{SchemaLayout, SessionField, UserField};
use crate::store::port::StoreError;

/// One round trip: the session joined with its user, by token (`$1`).
#[derive(Debug, Clone)]
pub struct SessionLookup {
    /// The statement.
    pub sql: String,
    session_id: Slot<String>,
    expires_at: Slot<DateTime<Utc>>,
    impersonated_by: Slot<Option<String>>,
    revoked: Slot<bool>,
    user: UserColumns,
    impersonator_banned: Slot<Option<bool>>,
    impersonator_ban_expires: Slot<Option<DateTime<Utc>>>,
    organization: Option<MembershipColumns>,
}

impl SessionLookup {
    /// Writes the statement for this layout; `None` without a session table.
    pub fn new(layout: &SchemaLayout) -> Option<Self> {
        let (s, u) = (layout.session.as_ref()?, &layout.user);
        let mut p = Projection::default();
        let session_id = p.field(s, "s", SessionField::Id);
        let expires_at = p.field(s, "s", SessionField::ExpiresAt);
        let impersonated_by = p.field(s, "s", SessionField::ImpersonatedBy);
        let revoked = p.expr(layout.revocation.revoked_expr("s"));
        let user = UserColumns::project(&mut p, layout, "u");
        // An impersonation session ends with its admin's ban: the admin's ban is read in the
        // same round trip (a primary-key join, only where both columns exist).
        let impersonator = s.has(SessionField::ImpersonatedBy) && u.has(UserField::Banned);
        let (impersonator_banned, impersonator_ban_expires, join) = if impersonator {
            (
                p.field(u, "i", UserField::Banned),
                p.field(u, "i", UserField::BanExpires),
                format!(
                    " LEFT JOIN {} AS i ON {}",
                    u.sql_name(),
                    u.eq_expr(
                        "i",
                        UserField::Id,
                        &s.col("s", SessionField::ImpersonatedBy)
                    ),
                ),
            )
        } else {
            (
                p.expr("NULL::boolean"),
                p.expr("NULL::timestamptz"),
                String::new(),
            )
        };
        // The session's active organization, confirmed by membership in the same round trip
        // (only where the session can point at one and the plugin's tables exist).
        let (organization, organization_join) = match &layout.organizations {
            Some(orgs) if s.has(SessionField::ActiveOrganizationId) => {
                let team = if s.has(SessionField::ActiveTeamId) {
                    s.col("s", SessionField::ActiveTeamId)
                } else {
                    "NULL::text".to_owned()
                };
                let (columns, joins) = MembershipColumns::project(
                    &mut p,
                    orgs,
                    &s.col("s", SessionField::ActiveOrganizationId),
                    &team,
                    &s.col("s", SessionField::UserId),
                );
                (Some(columns), joins)
            }
            _ => (None, String::new()),
        };
        let sql = format!(
            "SELECT {} FROM {} AS s JOIN {} AS u ON {} = {}{join}{organization_join} WHERE {} = $1",
            p.list(),
            s.sql_name(),
            u.sql_name(),
            u.col("u", UserField::Id),
            s.col("s", SessionField::UserId),
            s.col("s", SessionField::Token),
        );
        Some(Self {
            sql,
            session_id,
            expires_at,
            impersonated_by,
            revoked,
            user,
            impersonator_banned,
            impersonator_ban_expires,
            organization,
        })
    }

    /// Reads a row of [`Self::sql`].
    pub fn decode(&self, row: &Row) -> Result<SessionRecord, StoreError> {
        // An inner join: the user is always there.
        let user = self
            .user
            .decode(row)?
            .ok_or_else(|| StoreError::Query("a session row without its user".into()))?;
        Ok(SessionRecord {
            session_id: self.session_id.read(row)?,
            user_id: user.user_id,
            expires_at: self.expires_at.read(row)?,
            impersonated_by: self.impersonated_by.read(row)?,
            revoked: self.revoked.read(row)?,
            email: user.email,
            name: user.name,
            email_verified: user.email_verified,
            role: user.role,
            banned: user.banned,
            ban_expires: user.ban_expires,
            impersonator_banned: self.impersonator_banned.read(row)?,
            impersonator_ban_expires: self.impersonator_ban_expires.read(row)?,
            extras: user.extras,
            organization: match &self.organization {
                Some(columns) => columns.decode(row)?,
                None => None,
            },
        })
    }
}

/// Extends a session (`$1` token, `$2` the `expiresAt` it was read with, `$3` the new one), as
/// Better Auth's refresh does: `expiresAt` and `updatedAt`, guarded by the value read so that
/// of concurrent refreshes one writes. Answers how many rows it extended.
#[derive(Debug, Clone)]
pub struct SessionRefresh {
    /// The statement.
    pub sql: String,
    extended: Slot<i64>,
}

impl SessionRefresh {
    /// Writes the statement; `None` without a session table.
    pub fn new(layout: &SchemaLayout) -> Option<Self> {
        let s = layout.session.as_ref()?;
        let mut sets: Vec<String> = s
            .assign(
                SessionField::ExpiresAt,
                &s.ts_value(SessionField::ExpiresAt, "$3::timestamptz"),
            )
            .into_iter()
            .collect();
        sets.extend(s.assign(
            SessionField::UpdatedAt,
            &s.ts_value(SessionField::UpdatedAt, "date_trunc('milliseconds', now())"),
        ));
        let mut p = Projection::default();
        let extended = p.expr("count(*)");
        let sql = format!(
            "WITH r AS (UPDATE {} AS s SET {} WHERE {} = $1 AND {} = $2::timestamptz RETURNING 1) SELECT {} FROM r",
            s.sql_name(),
            sets.join(", "),
            s.col("s", SessionField::Token),
            s.select("s", SessionField::ExpiresAt),
            p.list(),
        );
        Some(Self { sql, extended })
    }

    /// Whether a row of [`Self::sql`] says a session was extended.
    pub fn decode(&self, row: &Row) -> Result<bool, StoreError> {
        Ok(self.extended.read(row)? > 0)
    }
}
