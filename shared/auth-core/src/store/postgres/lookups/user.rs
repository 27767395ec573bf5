//! The user behind a credential and the membership that confirms an active organization.

use chrono::{DateTime, Utc};
use tokio_postgres::Row;

use super::super::projection::{Projection, Slot};
use crate::identity::{ActiveOrganization, CredentialUser};
use crate::schema::{
    MemberField, OrganizationField, OrganizationLayout, SchemaLayout, TeamField, TeamMemberField,
    UserField, quote,
};
use crate::store::port::StoreError;

/// The user behind a credential, from the user table aliased as the statement names it: the core
/// fields, the ban, and the context columns (plugin fields, `BETTER_AUTH_CONTEXT_USER_FIELDS`) as
/// text. One projection for every statement that reads a credential's user.
#[derive(Debug, Clone)]
pub(crate) struct UserColumns {
    id: Slot<Option<String>>,
    email: Slot<Option<String>>,
    name: Slot<Option<String>>,
    email_verified: Slot<Option<bool>>,
    role: Slot<Option<String>>,
    banned: Slot<Option<bool>>,
    ban_expires: Slot<Option<DateTime<Utc>>>,
    extras: Vec<(String, Slot<Option<String>>)>,
}

impl UserColumns {
    pub(crate) fn project(p: &mut Projection, layout: &SchemaLayout, alias: &str) -> Self {
        let u = &layout.user;
        Self {
            id: p.field(u, alias, UserField::Id),
            email: p.field(u, alias, UserField::Email),
            name: p.field(u, alias, UserField::Name),
            email_verified: p.field(u, alias, UserField::EmailVerified),
            role: p.field(u, alias, UserField::Role),
            banned: p.field(u, alias, UserField::Banned),
            ban_expires: p.field(u, alias, UserField::BanExpires),
            extras: layout
                .user_context
                .iter()
                .map(|(field, column)| {
                    let text = format!("{alias}.{}::text", quote(&column.name));
                    (field.clone(), p.expr(text))
                })
                .collect(),
        }
    }

    /// The user; `None` when the (outer-joined) row has none.
    pub(crate) fn decode(&self, row: &Row) -> Result<Option<CredentialUser>, StoreError> {
        let Some(user_id) = self.id.read(row)? else {
            return Ok(None);
        };
        let mut extras = Vec::new();
        for (field, slot) in &self.extras {
            if let Some(value) = slot.read(row)? {
                extras.push((field.clone(), value));
            }
        }
        Ok(Some(CredentialUser {
            user_id,
            email: self.email.read(row)?.unwrap_or_default(),
            name: self.name.read(row)?.unwrap_or_default(),
            email_verified: self.email_verified.read(row)?.unwrap_or(false),
            role: self.role.read(row)?,
            banned: self.banned.read(row)?,
            ban_expires: self.ban_expires.read(row)?,
            extras,
        }))
    }
}

/// A session's active organization and team as confirmed by membership: two `LEFT JOIN
/// LATERAL`s the statement appends, and the columns they add. The organization is there only
/// when a `member` row ties the user to it; the team only when it is that organization's and a
/// `teamMember` row ties the user to it. Each side reads at most one row (`LIMIT 1`), so the
/// statement keeps returning one row per session.
#[derive(Debug, Clone)]
pub(crate) struct MembershipColumns {
    id: Slot<Option<String>>,
    slug: Slot<Option<String>>,
    role: Slot<Option<String>>,
    team_id: Slot<Option<String>>,
}

impl MembershipColumns {
    /// The joins for a session whose organization pointer, team pointer and user id are the SQL
    /// expressions given (`NULL` team: no team), and the columns they project.
    pub(crate) fn project(
        p: &mut Projection,
        orgs: &OrganizationLayout,
        organization_id: &str,
        team_id: &str,
        user_id: &str,
    ) -> (Self, String) {
        let (o, m) = (&orgs.organization, &orgs.member);
        let mut joins = format!(
            " LEFT JOIN LATERAL (SELECT {}::text AS id, {}::text AS slug, {}::text AS role \
             FROM {} AS m JOIN {} AS o ON {} \
             WHERE {} AND {} LIMIT 1) AS active_org ON true",
            o.col("o", OrganizationField::Id),
            o.col("o", OrganizationField::Slug),
            m.col("m", MemberField::Role),
            m.sql_name(),
            o.sql_name(),
            o.eq_expr(
                "o",
                OrganizationField::Id,
                &m.col("m", MemberField::OrganizationId)
            ),
            m.eq_expr("m", MemberField::OrganizationId, organization_id),
            m.eq_expr("m", MemberField::UserId, user_id),
        );
        let team = match &orgs.teams {
            Some((t, tm)) => {
                joins.push_str(&format!(
                    " LEFT JOIN LATERAL (SELECT {}::text AS id FROM {} AS t JOIN {} AS tm ON {} \
                     WHERE {} AND {} AND {} LIMIT 1) AS active_team ON true",
                    t.col("t", TeamField::Id),
                    t.sql_name(),
                    tm.sql_name(),
                    tm.eq_expr("tm", TeamMemberField::TeamId, &t.col("t", TeamField::Id)),
                    t.eq_expr("t", TeamField::Id, team_id),
                    t.eq_expr("t", TeamField::OrganizationId, "active_org.id"),
                    tm.eq_expr("tm", TeamMemberField::UserId, user_id),
                ));
                p.expr("active_team.id")
            }
            None => p.expr("NULL::text"),
        };
        let columns = Self {
            id: p.expr("active_org.id"),
            slug: p.expr("active_org.slug"),
            role: p.expr("active_org.role"),
            team_id: team,
        };
        (columns, joins)
    }

    /// The confirmed organization, when the row has one.
    pub(crate) fn decode(&self, row: &Row) -> Result<Option<Box<ActiveOrganization>>, StoreError> {
        let Some(id) = self.id.read(row)? else {
            return Ok(None);
        };
        Ok(Some(Box::new(ActiveOrganization {
            id,
            slug: self.slug.read(row)?.unwrap_or_default(),
            role: self.role.read(row)?.unwrap_or_default(),
            team_id: self.team_id.read(row)?,
        })))
    }
}

/// A membership check on its own (`$1`: the organization pointer, `$2`: the user id, `$3`: the
/// team pointer or NULL): for sessions read from secondary storage, whose pointers the database
/// must confirm.
#[derive(Debug, Clone)]
pub struct MembershipLookup {
    /// The statement.
    pub sql: String,
    columns: MembershipColumns,
}

impl MembershipLookup {
    /// Writes the statement, or `None` without the organization plugin's tables.
    pub fn new(layout: &SchemaLayout) -> Option<Self> {
        let orgs = layout.organizations.as_ref()?;
        let mut p = Projection::default();
        let (columns, joins) =
            MembershipColumns::project(&mut p, orgs, "$1::text", "$3::text", "$2::text");
        let sql = format!("SELECT {} FROM (SELECT 1) AS one{joins}", p.list());
        Some(Self { sql, columns })
    }

    /// Reads a row of [`Self::sql`].
    pub fn decode(&self, row: &Row) -> Result<Option<Box<ActiveOrganization>>, StoreError> {
        self.columns.decode(row)
    }
}
