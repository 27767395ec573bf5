//! The statements authentication runs, each written and decoded by one [`Projection`].

use chrono::{DateTime, Utc};
use tokio_postgres::Row;

use super::projection::{Projection, Slot};
use crate::identity::{ActiveOrganization, ApiKeyRecord, CredentialUser, SessionRecord};
use crate::schema::{
    ApiKeyField, JwksField, MemberField, OrganizationField, OrganizationLayout, SchemaLayout,
    SessionField, TableLayout, TeamField, TeamMemberField, UserField, quote,
};
use crate::store::port::{StoreError, StoredKey, UserBan};

/// The user behind a credential, from the user table aliased as the statement names it: the core
/// fields, the ban, and the context columns (plugin fields, `BETTER_AUTH_CONTEXT_USER_FIELDS`) as
/// text. One projection for every statement that reads a credential's user.
#[derive(Debug, Clone)]
struct UserColumns {
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
    fn project(p: &mut Projection, layout: &SchemaLayout, alias: &str) -> Self {
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
    fn decode(&self, row: &Row) -> Result<Option<CredentialUser>, StoreError> {
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
struct MembershipColumns {
    id: Slot<Option<String>>,
    slug: Slot<Option<String>>,
    role: Slot<Option<String>>,
    team_id: Slot<Option<String>>,
}

impl MembershipColumns {
    /// The joins for a session whose organization pointer, team pointer and user id are the SQL
    /// expressions given (`NULL` team: no team), and the columns they project.
    fn project(
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
    fn decode(&self, row: &Row) -> Result<Option<Box<ActiveOrganization>>, StoreError> {
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

/// The user's `banned` and `banExpires` by id (`$1`).
#[derive(Debug, Clone)]
pub struct BanLookup {
    /// The statement.
    pub sql: String,
    banned: Slot<Option<bool>>,
    ban_expires: Slot<Option<DateTime<Utc>>>,
}

impl BanLookup {
    /// Writes the statement for this layout.
    pub fn new(layout: &SchemaLayout) -> Self {
        let u = &layout.user;
        let mut p = Projection::default();
        let banned = p.field(u, "u", UserField::Banned);
        let ban_expires = p.field(u, "u", UserField::BanExpires);
        let sql = format!(
            "SELECT {} FROM {} AS u WHERE {}",
            p.list(),
            u.sql_name(),
            u.eq_param("u", UserField::Id, 1),
        );
        Self {
            sql,
            banned,
            ban_expires,
        }
    }

    /// Reads a row of [`Self::sql`].
    pub fn decode(&self, row: &Row) -> Result<UserBan, StoreError> {
        Ok(UserBan {
            banned: self.banned.read(row)?,
            ban_expires: self.ban_expires.read(row)?,
        })
    }
}

/// The jwt plugin's public keys (never `privateKey`).
#[derive(Debug, Clone)]
pub struct KeyLookup {
    /// The statement.
    pub sql: String,
    id: Slot<String>,
    public_key: Slot<String>,
    alg: Slot<Option<String>>,
    expires_at: Slot<Option<DateTime<Utc>>>,
}

impl KeyLookup {
    /// Writes the statement, or `None` without a jwks table.
    pub fn new(layout: &SchemaLayout) -> Option<Self> {
        let k = layout.jwks.as_ref()?;
        let mut p = Projection::default();
        let id = p.field(k, "k", JwksField::Id);
        let public_key = p.field(k, "k", JwksField::PublicKey);
        let alg = p.field(k, "k", JwksField::Alg);
        let expires_at = p.field(k, "k", JwksField::ExpiresAt);
        let sql = format!("SELECT {} FROM {} AS k", p.list(), k.sql_name());
        Some(Self {
            sql,
            id,
            public_key,
            alg,
            expires_at,
        })
    }

    /// Reads a row of [`Self::sql`].
    pub fn decode(&self, row: &Row) -> Result<StoredKey, StoreError> {
        Ok(StoredKey {
            id: self.id.read(row)?,
            public_key: self.public_key.read(row)?,
            alg: self.alg.read(row)?,
            expires_at: self.expires_at.read(row)?,
        })
    }
}

/// A boolean SQL expression: the key row `alias` is of one of the configurations listed in the
/// `text[]` parameter `$n`. A null or empty `configId` is Better Auth's default configuration,
/// `default` (the plugin's `isDefaultConfigId`); without the column (older schemas) every key is.
pub fn accepted_config(keys: &TableLayout<ApiKeyField>, alias: &str, n: usize) -> String {
    format!(
        "COALESCE(NULLIF({}, ''), 'default') = ANY(${n}::text[])",
        keys.select(alias, ApiKeyField::ConfigId)
    )
}

/// One API key use in one statement (`$1`: the key's hash, `$2`: whether the owner's email must
/// be verified, `$3`: whether an anonymous owner is refused, `$4`: the `configId`s whose keys
/// act as their user, a `text[]`): the guarded update that counts the use (quota, refill,
/// rate-limit window) only while every rule still holds, the deletion of an expired or used-up
/// key (as Better Auth deletes them), and the key's state and owner for the decision.
///
/// A key of any other configuration (an organization's, whose `referenceId` is no user id, or
/// one the deployment does not accept) is neither counted, deleted nor returned: it is unknown.
///
/// The guards are on the row being updated, so concurrent uses are serialised by PostgreSQL's
/// row lock and re-checked against the row each one finds: never more uses than the quota or
/// the rate limit allows, whatever the number of containers.
#[derive(Debug, Clone)]
pub struct ApiKeyUse {
    /// The statement.
    pub sql: String,
    key_id: Slot<String>,
    counted: Slot<bool>,
    disabled: Slot<bool>,
    expired: Slot<bool>,
    exhausted: Slot<bool>,
    rate_limited: Slot<bool>,
    remaining: Slot<Option<i64>>,
    permissions: Slot<Option<String>>,
    expires_at: Slot<Option<DateTime<Utc>>>,
    owner: UserColumns,
}

/// The rules of a key row aliased `a`, as SQL booleans (never NULL).
struct KeyRules {
    disabled: String,
    expired: String,
    refill_due: String,
    exhausted: String,
    rate_limit_applies: String,
    window_over: String,
    rate_limited: String,
}

impl KeyRules {
    fn new(k: &TableLayout<ApiKeyField>, a: &str) -> Self {
        let f = |field| k.select(a, field);
        let ms = |field| format!("({} * interval '1 millisecond')", f(field));
        let refill_due = format!(
            "COALESCE({interval} > 0 AND {amount} > 0 AND now() - COALESCE({last}, {created}) > {window}, false)",
            interval = f(ApiKeyField::RefillInterval),
            amount = f(ApiKeyField::RefillAmount),
            last = f(ApiKeyField::LastRefillAt),
            created = f(ApiKeyField::CreatedAt),
            window = ms(ApiKeyField::RefillInterval),
        );
        let remaining = f(ApiKeyField::Remaining);
        let rate_limit_applies = format!(
            "({} IS NOT FALSE AND {} IS NOT NULL AND {} IS NOT NULL)",
            f(ApiKeyField::RateLimitEnabled),
            f(ApiKeyField::RateLimitTimeWindow),
            f(ApiKeyField::RateLimitMax),
        );
        let last_request = f(ApiKeyField::LastRequest);
        let window_over = format!(
            "COALESCE({last_request} IS NULL OR now() - {last_request} > {}, false)",
            ms(ApiKeyField::RateLimitTimeWindow)
        );
        let rate_limited = format!(
            "({rate_limit_applies} AND NOT {window_over} AND COALESCE({}, 0) >= {})",
            f(ApiKeyField::RequestCount),
            f(ApiKeyField::RateLimitMax),
        );
        Self {
            disabled: format!("COALESCE({} = false, false)", f(ApiKeyField::Enabled)),
            expired: format!("COALESCE({} < now(), false)", f(ApiKeyField::ExpiresAt)),
            exhausted: format!("COALESCE({remaining} <= 0 AND NOT {refill_due}, false)"),
            refill_due,
            rate_limit_applies,
            window_over,
            rate_limited,
        }
    }

    /// Better Auth deletes a key when it is found expired, or used up with no refill.
    fn deleted(k: &TableLayout<ApiKeyField>, a: &str, rules: &Self) -> String {
        format!(
            "NOT {} AND ({} OR COALESCE({} = 0 AND {} IS NULL, false))",
            rules.disabled,
            rules.expired,
            k.select(a, ApiKeyField::Remaining),
            k.select(a, ApiKeyField::RefillAmount),
        )
    }
}

impl ApiKeyUse {
    /// Writes the statement for this layout; `None` without an API key table.
    pub fn new(layout: &SchemaLayout) -> Option<Self> {
        let (k, u) = (layout.api_key.as_ref()?, &layout.user);
        let rules = KeyRules::new(k, "k");
        let f = |field| k.select("k", field);
        let raw = |field| k.col("k", field);
        // Milliseconds, as Better Auth's JavaScript dates: its refill compares `lastRefillAt` for
        // equality with the value it read, which a microsecond would never match.
        let now = |field| k.ts_value(field, "date_trunc('milliseconds', now())");
        // The counting, as Better Auth's consumeRemaining and consumeRateLimit do it.
        let mut sets: Vec<String> = Vec::new();
        sets.extend(k.assign(
            ApiKeyField::Remaining,
            &format!(
                "CASE WHEN {rem} IS NULL THEN NULL WHEN {due} THEN {amount} - 1 ELSE {rem} - 1 END",
                rem = f(ApiKeyField::Remaining),
                due = rules.refill_due,
                amount = f(ApiKeyField::RefillAmount),
            ),
        ));
        if k.has(ApiKeyField::LastRefillAt) {
            sets.extend(k.assign(
                ApiKeyField::LastRefillAt,
                &format!(
                    "CASE WHEN {} IS NOT NULL AND {} THEN {} ELSE {} END",
                    f(ApiKeyField::Remaining),
                    rules.refill_due,
                    now(ApiKeyField::LastRefillAt),
                    raw(ApiKeyField::LastRefillAt),
                ),
            ));
        }
        if k.has(ApiKeyField::RequestCount) {
            sets.extend(k.assign(
                ApiKeyField::RequestCount,
                &format!(
                    "CASE WHEN NOT {} THEN {} WHEN {} THEN 1 ELSE COALESCE({}, 0) + 1 END",
                    rules.rate_limit_applies,
                    raw(ApiKeyField::RequestCount),
                    rules.window_over,
                    f(ApiKeyField::RequestCount),
                ),
            ));
        }
        if k.has(ApiKeyField::LastRequest) {
            sets.extend(k.assign(
                ApiKeyField::LastRequest,
                &format!(
                    "CASE WHEN {} IS FALSE OR {} THEN {} ELSE {} END",
                    f(ApiKeyField::RateLimitEnabled),
                    rules.rate_limit_applies,
                    now(ApiKeyField::LastRequest),
                    raw(ApiKeyField::LastRequest),
                ),
            ));
        }
        sets.extend(k.assign(ApiKeyField::UpdatedAt, &now(ApiKeyField::UpdatedAt)));
        let owner_join =
            |alias: &str| u.eq_expr(alias, UserField::Id, &k.col("k", ApiKeyField::ReferenceId));
        let banned = format!(
            "COALESCE({b}, false) AND COALESCE({e} > now(), true)",
            b = u.select("o", UserField::Banned),
            e = u.select("o", UserField::BanExpires),
        );
        let deleted = KeyRules::deleted(k, "d", &KeyRules::new(k, "d"));
        // The anonymous plugin's flag, as the context reads it (text `true`).
        let anonymous = layout
            .user_context
            .iter()
            .find(|(field, _)| field == "isAnonymous")
            .map_or_else(
                || "false".to_owned(),
                |(_, column)| format!("COALESCE(o.{}::text = 'true', false)", quote(&column.name)),
            );
        let mut p = Projection::default();
        let key_id = p.field(k, "k", ApiKeyField::Id);
        let counted = p.expr("(used.k IS NOT NULL)");
        let disabled = p.expr(rules.disabled.clone());
        let expired = p.expr(rules.expired.clone());
        let exhausted = p.expr(rules.exhausted.clone());
        let rate_limited = p.expr(rules.rate_limited.clone());
        let remaining = p.expr(format!(
            "CASE WHEN used.k IS NOT NULL THEN used.remaining ELSE {} END",
            f(ApiKeyField::Remaining)
        ));
        let permissions = p.field(k, "k", ApiKeyField::Permissions);
        let expires_at = p.field(k, "k", ApiKeyField::ExpiresAt);
        let owner = UserColumns::project(&mut p, layout, "o");
        let sql = format!(
            "WITH used AS (\
                UPDATE {table} AS k SET {sets} FROM {users} AS o \
                WHERE {key} = $1 AND {config} AND {owner} \
                AND NOT {disabled_rule} AND NOT {expired_rule} AND NOT {exhausted_rule} \
                AND NOT {rate_limited_rule} AND NOT ({banned}) \
                AND (NOT $2 OR COALESCE({verified}, false)) \
                AND (NOT $3 OR NOT {anonymous}) \
                RETURNING {id} AS k, {remaining_after} AS remaining\
            ), gone AS (\
                DELETE FROM {table} AS d WHERE {delete_key} = $1 AND {delete_config} \
                AND NOT EXISTS (SELECT 1 FROM used) AND {deleted} RETURNING 1\
            ) \
            SELECT {list} FROM {table} AS k LEFT JOIN {users} AS o ON {owner} \
            LEFT JOIN used ON true WHERE {key} = $1 AND {config} LIMIT 1",
            table = k.sql_name(),
            users = u.sql_name(),
            sets = sets.join(", "),
            key = raw(ApiKeyField::Key),
            owner = owner_join("o"),
            disabled_rule = rules.disabled,
            expired_rule = rules.expired,
            exhausted_rule = rules.exhausted,
            rate_limited_rule = rules.rate_limited,
            verified = u.select("o", UserField::EmailVerified),
            id = f(ApiKeyField::Id),
            remaining_after = f(ApiKeyField::Remaining),
            delete_key = k.col("d", ApiKeyField::Key),
            config = accepted_config(k, "k", 4),
            delete_config = accepted_config(k, "d", 4),
            list = p.list(),
        );
        Some(Self {
            sql,
            key_id,
            counted,
            disabled,
            expired,
            exhausted,
            rate_limited,
            remaining,
            permissions,
            expires_at,
            owner,
        })
    }

    /// Reads a row of [`Self::sql`].
    pub fn decode(&self, row: &Row) -> Result<ApiKeyRecord, StoreError> {
        let owner = self.owner.decode(row)?;
        Ok(ApiKeyRecord {
            key_id: self.key_id.read(row)?,
            counted: self.counted.read(row)?,
            disabled: self.disabled.read(row)?,
            expired: self.expired.read(row)?,
            exhausted: self.exhausted.read(row)?,
            rate_limited: self.rate_limited.read(row)?,
            remaining: self.remaining.read(row)?,
            permissions: self.permissions.read(row)?,
            expires_at: self.expires_at.read(row)?,
            owner,
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
