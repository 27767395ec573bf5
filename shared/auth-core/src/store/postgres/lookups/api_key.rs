//! One API key use in one guarded statement.

use chrono::{DateTime, Utc};
use tokio_postgres::Row;

use super::super::projection::{Projection, Slot};
use super::user::*;
use crate::identity::{ApiKeyRecord, KeyOwner};
use crate::schema::{ApiKeyField, OrganizationField, SchemaLayout, TableLayout, UserField, quote};
use crate::store::port::StoreError;

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
/// act as their user, `$5`: those whose keys are an organization's, both `text[]`): the guarded
/// update that counts the use (quota, refill, rate-limit window) only while every rule still
/// holds, the deletion of an expired or used-up key (as Better Auth deletes them), and the
/// key's state and owner for the decision.
///
/// The configuration decides which table `referenceId` names: a user key's owner is joined
/// from the user table only, an organization key's from the organization table only (so
/// organization N is never user N when ids collide). Each kind has its own guarded update (at
/// most one of them matches the row). A key of any other configuration (or an organization's
/// without the organization plugin's tables) is neither counted, deleted nor returned: it is
/// unknown.
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
    /// The owning organization (organization keys), with the organization plugin's tables.
    organization: Option<OrganizationColumns>,
}

/// An organization key's organization, outer-joined as `g`.
#[derive(Debug, Clone)]
struct OrganizationColumns {
    id: Slot<Option<String>>,
    slug: Slot<Option<String>>,
}

/// The rules of a key row aliased `a`, as SQL booleans (never NULL).
pub(crate) struct KeyRules {
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
        let (k, u) = (layout.table::<ApiKeyField>()?, &layout.user);
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
        // A user key's owner comes from the user table, an organization key's from the
        // organization table: the configuration says which (`$4`, `$5`).
        let user_config = accepted_config(k, "k", 4);
        let orgs = layout.organizations.as_ref().map(|o| &o.organization);
        let org_join = |g: &TableLayout<OrganizationField>| {
            g.eq_expr(
                "g",
                OrganizationField::Id,
                &k.col("k", ApiKeyField::ReferenceId),
            )
        };
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
        let organization = orgs.map(|g| OrganizationColumns {
            id: p.field(g, "g", OrganizationField::Id),
            slug: p.field(g, "g", OrganizationField::Slug),
        });
        let key_rules = format!(
            "NOT {} AND NOT {} AND NOT {} AND NOT {}",
            rules.disabled, rules.expired, rules.exhausted, rules.rate_limited
        );
        let returning = format!(
            "RETURNING {} AS k, {} AS remaining",
            f(ApiKeyField::Id),
            f(ApiKeyField::Remaining)
        );
        let org_config = accepted_config(k, "k", 5);
        let (org_update, org_used, org_select) = match orgs {
            Some(g) => (
                format!(
                    ", used_organization AS (\
                        UPDATE {table} AS k SET {sets} FROM {orgs} AS g \
                        WHERE cardinality($5::text[]) > 0 AND {key} = $1 AND {org_config} \
                        AND {join} AND {key_rules} {returning}\
                    )",
                    table = k.sql_name(),
                    sets = sets.join(", "),
                    orgs = g.sql_name(),
                    key = raw(ApiKeyField::Key),
                    join = org_join(g),
                ),
                " UNION ALL SELECT k, remaining FROM used_organization",
                format!(
                    " LEFT JOIN {} AS g ON {org_config} AND {}",
                    g.sql_name(),
                    org_join(g)
                ),
            ),
            None => (String::new(), "", String::new()),
        };
        let accepted = |alias: &str| match orgs {
            Some(_) => format!(
                "({} OR {})",
                accepted_config(k, alias, 4),
                accepted_config(k, alias, 5)
            ),
            None => accepted_config(k, alias, 4),
        };
        let sql = format!(
            "WITH used_user AS (\
                UPDATE {table} AS k SET {sets} FROM {users} AS o \
                WHERE {key} = $1 AND {user_config} AND {owner} AND {key_rules} \
                AND NOT ({banned}) \
                AND (NOT $2 OR COALESCE({verified}, false)) \
                AND (NOT $3 OR NOT {anonymous}) \
                {returning}\
            ){org_update}, used AS (SELECT k, remaining FROM used_user{org_used}), \
            gone AS (\
                DELETE FROM {table} AS d WHERE {delete_key} = $1 AND {delete_config} \
                AND NOT EXISTS (SELECT 1 FROM used) AND {deleted} RETURNING 1\
            ) \
            SELECT {list} FROM {table} AS k LEFT JOIN {users} AS o ON {user_config} AND {owner}\
            {org_select} LEFT JOIN used ON true WHERE {key} = $1 AND {config} LIMIT 1",
            table = k.sql_name(),
            users = u.sql_name(),
            sets = sets.join(", "),
            key = raw(ApiKeyField::Key),
            owner = owner_join("o"),
            verified = u.select("o", UserField::EmailVerified),
            delete_key = k.col("d", ApiKeyField::Key),
            config = accepted("k"),
            delete_config = accepted("d"),
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
            organization,
        })
    }

    /// Reads a row of [`Self::sql`].
    pub fn decode(&self, row: &Row) -> Result<ApiKeyRecord, StoreError> {
        let organization = match &self.organization {
            Some(columns) => match columns.id.read(row)? {
                Some(id) => Some(KeyOwner::Organization {
                    id,
                    slug: columns.slug.read(row)?.unwrap_or_default(),
                }),
                None => None,
            },
            None => None,
        };
        // At most one side is joined: the configuration names one table.
        let owner = match organization {
            Some(organization) => Some(organization),
            None => self.owner.decode(row)?.map(KeyOwner::User),
        };
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
