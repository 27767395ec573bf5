//! Where Better Auth's tables live in this database, and how to read them safely.
//!
//! - [`fields`]: the models and their fields as types ([`UserField`], [`SessionField`], …).
//! - [`resolve`]: a pure function from `information_schema` rows (and configured overrides) to
//!   a [`SchemaLayout`], so every schema variant is unit-testable.
//! - [`projection`]: one type that writes a SELECT list and decodes the row in the same order.
//! - [`Revocation`]: how a session is revoked here (delete the row, or set a flag), decided once
//!   and used by the lookup and by every revoke.
//!
//! Every identifier is validated ([`validate_identifier`]) and quoted ([`quote`]): configuration
//! can never inject SQL.

pub mod fields;
pub mod overrides;
pub use std::collections::BTreeMap;

pub use fields::{
    AccountField, ApiKeyField, JwksField, Kind, MemberField, Model, ModelField, OrganizationField,
    SessionField, TeamField, TeamMemberField, UserField,
};

/// Explicit names for one model's table: anything unset is detected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableOverride<F: ModelField> {
    /// The table's name.
    pub table: Option<String>,
    /// Field → column.
    pub fields: BTreeMap<F, String>,
}

impl<F: ModelField> Default for TableOverride<F> {
    fn default() -> Self {
        Self {
            table: None,
            fields: BTreeMap::new(),
        }
    }
}

impl<F: ModelField> TableOverride<F> {
    fn candidates(&self) -> Vec<&str> {
        match &self.table {
            Some(table) => vec![table.as_str()],
            None => F::MODEL.default_tables().to_vec(),
        }
    }
}

/// Explicit names from configuration; anything unset is detected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchemaOverrides {
    /// The PostgreSQL schema (namespace); default: the connection's `current_schema()`.
    pub db_schema: Option<String>,
    /// The user table.
    pub user: TableOverride<UserField>,
    /// The session table.
    pub session: TableOverride<SessionField>,
    /// The account table.
    pub account: TableOverride<AccountField>,
    /// The jwt plugin's key table.
    pub jwks: TableOverride<JwksField>,
    /// The api-key plugin's table.
    pub api_key: TableOverride<ApiKeyField>,
    /// The organization plugin's organization table.
    pub organization: TableOverride<OrganizationField>,
    /// The organization plugin's member table.
    pub member: TableOverride<MemberField>,
    /// The organization plugin's team table.
    pub team: TableOverride<TeamField>,
    /// The organization plugin's team-member table.
    pub team_member: TableOverride<TeamMemberField>,
    /// `BETTER_AUTH_CONTEXT_USER_FIELDS`: user columns to read for the context (each must
    /// exist); the plugin fields are read whenever they exist.
    pub context_user_fields: Vec<String>,
    /// `BETTER_AUTH_REQUIRE_ADMIN_COLUMNS`: fail (closed) when the user table shows no `banned`
    /// or `banExpires` column, e.g. because the database user may not read them.
    pub require_admin_columns: bool,
    /// Sessions live in secondary storage only: the database may have no session table (Better
    /// Auth's migrator does not create one then).
    pub session_table_optional: bool,
}

impl SchemaOverrides {
    /// Table names worth asking `information_schema` about.
    pub fn candidate_tables(&self) -> Vec<String> {
        let mut names: Vec<&str> = Vec::new();
        names.extend(self.user.candidates());
        names.extend(self.session.candidates());
        names.extend(self.account.candidates());
        names.extend(self.jwks.candidates());
        names.extend(self.api_key.candidates());
        names.extend(self.organization.candidates());
        names.extend(self.member.candidates());
        names.extend(self.team.candidates());
        names.extend(self.team_member.candidates());
        names.into_iter().map(str::to_owned).collect()
    }
}

/// One row of `information_schema.columns`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnInfo {
    /// `table_name`.
    pub table: String,
    /// `column_name`.
    pub column: String,
    /// `data_type`, e.g. `timestamp with time zone`.
    pub data_type: String,
}

/// Why the database does not fit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    /// None of the table names tried exists.
    #[error(
        "no {model} table in schema \"{schema}\" (looked for {looked_for}); create it with Better Auth's migrator or set {variable}"
    )]
    MissingTable {
        /// `user`, `session`, …
        model: &'static str,
        /// The PostgreSQL schema searched.
        schema: String,
        /// The names tried, quoted and comma-separated.
        looked_for: String,
        /// The variable that names the table.
        variable: &'static str,
    },
    /// A required field has no column.
    #[error(
        "table \"{table}\" has no column for {model}.{field} (looked for {looked_for}); set {variable}={field}=<column>"
    )]
    MissingColumn {
        /// `user`, `session`, …
        model: &'static str,
        /// The table.
        table: String,
        /// Better Auth's field name.
        field: &'static str,
        /// The column names tried.
        looked_for: String,
        /// The variable that maps fields.
        variable: &'static str,
    },
    /// A column that configuration requires is not there (or not readable by this user).
    #[error(
        "table \"{table}\" shows no column for {model}.{field} (looked for {looked_for}), which {variable} requires; apply the migration, grant SELECT on it, or map it with {fields_variable}"
    )]
    Required {
        /// `user`, `session`, …
        model: &'static str,
        /// The table.
        table: String,
        /// Better Auth's field name.
        field: &'static str,
        /// The column names tried.
        looked_for: String,
        /// The setting that requires it.
        variable: &'static str,
        /// The variable that maps fields.
        fields_variable: &'static str,
    },
    /// A column exists but cannot hold what Better Auth stores there.
    #[error("column \"{table}\".\"{column}\" ({model}.{field}) is {found}, expected {expected}")]
    WrongType {
        /// `user`, `session`, …
        model: &'static str,
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// Better Auth's field name.
        field: &'static str,
        /// The column's type.
        found: String,
        /// What would work.
        expected: &'static str,
    },
}

/// A resolved column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// The column's name (validated; quote it with [`quote`]).
    pub name: String,
    /// A `timestamp without time zone` column holding UTC wall-clock time.
    pub naive_timestamp: bool,
    /// For id-like columns that are not text (`uuid`, `integer`, `bigint`): the type a text
    /// parameter must be cast to when compared with this column.
    pub cast: Option<&'static str>,
}

/// A resolved table: its (qualified, quoted) name and the columns of the fields it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableLayout<F: ModelField> {
    /// The table's name as found.
    pub name: String,
    /// `"schema"."table"` or `"table"`, ready for SQL.
    qualified: String,
    columns: BTreeMap<F, Column>,
}

impl<F: ModelField> TableLayout<F> {
    /// The table, schema-qualified when a schema is configured, quoted.
    pub fn sql_name(&self) -> &str {
        &self.qualified
    }

    /// The column of a field, when the table has it.
    pub fn column(&self, field: F) -> Option<&Column> {
        self.columns.get(&field)
    }

    /// Whether the table has the field.
    pub fn has(&self, field: F) -> bool {
        self.columns.contains_key(&field)
    }

    /// `alias."column"`, with naive timestamps converted to `timestamptz` and text cast to text;
    /// a typed NULL when the field is absent.
    pub fn select(&self, alias: &str, field: F) -> String {
        match (self.columns.get(&field), field.kind()) {
            (Some(column), Kind::Timestamp) if column.naive_timestamp => {
                format!("({alias}.{} AT TIME ZONE 'UTC')", quote(&column.name))
            }
            (Some(column), Kind::Text) => format!("{alias}.{}::text", quote(&column.name)),
            (Some(column), Kind::Integer) => format!("{alias}.{}::bigint", quote(&column.name)),
            (Some(column), _) => format!("{alias}.{}", quote(&column.name)),
            (None, Kind::Text) => "NULL::text".to_owned(),
            (None, Kind::Bool) => "NULL::boolean".to_owned(),
            (None, Kind::Timestamp) => "NULL::timestamptz".to_owned(),
            (None, Kind::Integer) => "NULL::bigint".to_owned(),
        }
    }

    /// `alias."column" = $n`, with the text parameter cast to the column's type when needed.
    pub fn eq_param(&self, alias: &str, field: F, n: usize) -> String {
        match self.columns.get(&field).and_then(|c| c.cast) {
            Some(ty) => format!("{} = CAST(${n}::text AS {ty})", self.col(alias, field)),
            None => format!("{} = ${n}", self.col(alias, field)),
        }
    }

    /// `alias."column" = <expr>`, the expression cast to the column's type when needed (so the
    /// column's index is used).
    pub fn eq_expr(&self, alias: &str, field: F, expr: &str) -> String {
        match self.columns.get(&field).and_then(|c| c.cast) {
            Some(ty) => format!("{} = CAST(({expr})::text AS {ty})", self.col(alias, field)),
            None => format!("{} = ({expr})::text", self.col(alias, field)),
        }
    }

    /// The value to write into a timestamp field: `expr` is a `timestamptz` expression.
    pub fn ts_value(&self, field: F, expr: &str) -> String {
        match self.columns.get(&field) {
            Some(c) if c.naive_timestamp => format!("({expr} AT TIME ZONE 'UTC')"),
            _ => expr.to_owned(),
        }
    }

    /// `alias."column"` of a field. Required fields always resolve; for an absent optional
    /// field this names Better Auth's own column, so the statement fails loudly rather than
    /// reading another column.
    pub fn col(&self, alias: &str, field: F) -> String {
        let name = self
            .columns
            .get(&field)
            .map_or(field.name(), |c| c.name.as_str());
        format!("{alias}.{}", quote(name))
    }

    /// `"column" = <value>` for an UPDATE's SET list, when the table has the field.
    pub fn assign(&self, field: F, value: &str) -> Option<String> {
        let column = self.columns.get(&field)?;
        Some(format!("{} = {value}", quote(&column.name)))
    }

    /// `"updatedAt" = now()` for tables that have it.
    pub fn touch(&self, updated_at: F) -> Option<String> {
        self.assign(updated_at, &self.ts_value(updated_at, "now()"))
    }
}

/// How a session is revoked in this database: decided once, at resolution, and used by the
/// lookup and by every revoke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revocation {
    /// Better Auth's way: the row is deleted.
    Delete,
    /// The session table has a `revoked` column: it is set, and the lookup refuses such rows.
    Flag(Column),
}

impl Revocation {
    /// A boolean SQL expression: whether the session row `alias` is revoked.
    pub fn revoked_expr(&self, alias: &str) -> String {
        match self {
            Self::Delete => "false".to_owned(),
            Self::Flag(column) => format!("COALESCE({alias}.{}, false)", quote(&column.name)),
        }
    }

    /// The statement that revokes the rows of `sessions` (aliased `s`) matching `condition`,
    /// optionally joined with `join` (`FROM`/`USING` a CTE or table).
    pub fn statement(
        &self,
        sessions: &TableLayout<SessionField>,
        join: Option<&str>,
        condition: &str,
    ) -> String {
        let table = sessions.sql_name();
        match self {
            Self::Delete => {
                let using = join.map(|j| format!(" USING {j}")).unwrap_or_default();
                format!("DELETE FROM {table} AS s{using} WHERE {condition}")
            }
            Self::Flag(column) => {
                let mut sets = vec![format!("{} = true", quote(&column.name))];
                sets.extend(sessions.touch(SessionField::UpdatedAt));
                let from = join.map(|j| format!(" FROM {j}")).unwrap_or_default();
                format!(
                    "UPDATE {table} AS s SET {}{from} WHERE {condition}",
                    sets.join(", ")
                )
            }
        }
    }
}

/// Where Better Auth's tables are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaLayout {
    /// The PostgreSQL schema, when configured (else the connection's search path applies).
    pub db_schema: Option<String>,
    /// The user table.
    pub user: TableLayout<UserField>,
    /// The session table (absent only when sessions live in secondary storage alone).
    pub session: Option<TableLayout<SessionField>>,
    /// The account table, when there is one that fits.
    pub account: Option<TableLayout<AccountField>>,
    /// The jwt plugin's key table, when there is one that fits.
    pub jwks: Option<TableLayout<JwksField>>,
    /// The api-key plugin's table, when there is one that fits.
    pub api_key: Option<TableLayout<ApiKeyField>>,
    /// User columns the context carries: `(field, column)`, the plugin fields that exist and
    /// the configured ones.
    pub user_context: Vec<(String, Column)>,
    /// The organization plugin's tables, when the plugin's organization and member tables fit.
    pub organizations: Option<OrganizationLayout>,
    /// How sessions are revoked.
    pub revocation: Revocation,
}

/// The organization plugin's tables: what confirms a session's active organization (and team).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizationLayout {
    /// `organization`.
    pub organization: TableLayout<OrganizationField>,
    /// `member`.
    pub member: TableLayout<MemberField>,
    /// `team` and `teamMember`, when teams are enabled.
    pub teams: Option<(TableLayout<TeamField>, TableLayout<TeamMemberField>)>,
}

impl SchemaLayout {
    /// Whether the admin plugin's columns (`role`, `banned`, `banReason`, `banExpires`) exist.
    pub fn has_admin_columns(&self) -> bool {
        [
            UserField::Role,
            UserField::Banned,
            UserField::BanReason,
            UserField::BanExpires,
        ]
        .into_iter()
        .all(|f| self.user.has(f))
    }

    /// A boolean SQL expression: the session row `s` of `sessions` is neither expired nor
    /// revoked.
    pub fn session_active(&self, sessions: &TableLayout<SessionField>) -> String {
        let expires = sessions.select("s", SessionField::ExpiresAt);
        match &self.revocation {
            Revocation::Delete => format!("{expires} > now()"),
            flag => format!("{expires} > now() AND NOT {}", flag.revoked_expr("s")),
        }
    }
}

/// `emailVerified` → `email_verified`.
pub fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for ch in name.chars() {
        if ch.is_ascii_uppercase() {
            out.push('_');
            out.push(ch.to_ascii_lowercase());
        } else {
            out.push(ch);
        }
    }
    out
}

/// Resolves the layout from the columns `information_schema` listed for the candidate tables.
pub fn resolve(
    schema_name: &str,
    columns: &[ColumnInfo],
    overrides: &SchemaOverrides,
) -> Result<SchemaLayout, SchemaError> {
    let schema = overrides.db_schema.as_deref();
    let user = resolve_table(schema, schema_name, columns, &overrides.user)?;
    if overrides.require_admin_columns {
        for field in [UserField::Banned, UserField::BanExpires] {
            if !user.has(field) {
                return Err(SchemaError::Required {
                    model: Model::User.as_str(),
                    table: user.name.clone(),
                    field: field.name(),
                    looked_for: quoted_list([field.name(), snake_case(field.name()).as_str()]),
                    variable: "BETTER_AUTH_REQUIRE_ADMIN_COLUMNS",
                    fields_variable: Model::User.fields_variable(),
                });
            }
        }
    }
    let user_context = context_columns(&user, columns, overrides)?;
    let session = match resolve_table(schema, schema_name, columns, &overrides.session) {
        Ok(session) => Some(session),
        Err(SchemaError::MissingTable { .. }) if overrides.session_table_optional => None,
        Err(error) => return Err(error),
    };
    let revocation = match session
        .as_ref()
        .and_then(|s| s.column(SessionField::Revoked))
    {
        Some(column) => Revocation::Flag(column.clone()),
        None => Revocation::Delete,
    };
    Ok(SchemaLayout {
        db_schema: overrides.db_schema.clone(),
        user,
        session,
        // The account table only serves `GET /auth/accounts`: without it, that route says so.
        account: resolve_table(schema, schema_name, columns, &overrides.account).ok(),
        // The jwt plugin's keys serve JWT verification only (BETTER_AUTH_METHODS=jwt).
        jwks: resolve_table(schema, schema_name, columns, &overrides.jwks).ok(),
        // API keys serve the `api-key` method only; a table that does not fit is reported then.
        api_key: resolve_table(schema, schema_name, columns, &overrides.api_key).ok(),
        // The organization plugin is optional: without its tables no session has an active
        // organization (a pointer alone grants nothing).
        organizations: organization_layout(schema, schema_name, columns, overrides),
        user_context,
        revocation,
    })
}

fn organization_layout(
    schema: Option<&str>,
    schema_name: &str,
    columns: &[ColumnInfo],
    overrides: &SchemaOverrides,
) -> Option<OrganizationLayout> {
    let organization = resolve_table(schema, schema_name, columns, &overrides.organization).ok()?;
    let member = resolve_table(schema, schema_name, columns, &overrides.member).ok()?;
    let teams = resolve_table(schema, schema_name, columns, &overrides.team)
        .ok()
        .zip(resolve_table(schema, schema_name, columns, &overrides.team_member).ok());
    Some(OrganizationLayout {
        organization,
        member,
        teams,
    })
}

/// The user columns of the context fields: plugin fields when they exist, configured ones
/// always (camelCase or snake_case, like every field).
fn context_columns(
    user: &TableLayout<UserField>,
    columns: &[ColumnInfo],
    overrides: &SchemaOverrides,
) -> Result<Vec<(String, Column)>, SchemaError> {
    let mut found = Vec::new();
    let plugin = crate::identity::PLUGIN_USER_FIELDS
        .iter()
        .map(|f| (*f, false));
    let configured = overrides
        .context_user_fields
        .iter()
        .map(|f| (f.as_str(), true));
    for (field, required) in plugin.chain(configured) {
        let snake = snake_case(field);
        let column = [field, snake.as_str()].into_iter().find_map(|name| {
            columns
                .iter()
                .find(|c| c.table == user.name && c.column == name)
        });
        match column {
            Some(info) if validate_identifier(&info.column).is_ok() => found.push((
                field.to_owned(),
                Column {
                    name: info.column.clone(),
                    naive_timestamp: false,
                    cast: None,
                },
            )),
            _ if required => {
                return Err(SchemaError::MissingColumn {
                    model: Model::User.as_str(),
                    table: user.name.clone(),
                    field: "a BETTER_AUTH_CONTEXT_USER_FIELDS field",
                    looked_for: quoted_list([field, snake.as_str()]),
                    variable: "BETTER_AUTH_CONTEXT_USER_FIELDS",
                });
            }
            _ => {}
        }
    }
    Ok(found)
}

fn quoted_list<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    names
        .into_iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

fn resolve_table<F: ModelField>(
    db_schema: Option<&str>,
    schema_name: &str,
    columns: &[ColumnInfo],
    overrides: &TableOverride<F>,
) -> Result<TableLayout<F>, SchemaError> {
    let model = F::MODEL;
    let candidates = overrides.candidates();
    let table = candidates
        .iter()
        .copied()
        .find(|t| columns.iter().any(|c| c.table == *t))
        .ok_or_else(|| SchemaError::MissingTable {
            model: model.as_str(),
            schema: schema_name.to_owned(),
            looked_for: quoted_list(candidates.iter().copied()),
            variable: model.table_variable(),
        })?;
    let present: Vec<&ColumnInfo> = columns.iter().filter(|c| c.table == table).collect();
    let mut resolved = BTreeMap::new();
    for &field in F::ALL {
        let looked_for: Vec<String> = match overrides.fields.get(&field) {
            Some(column) => vec![column.clone()],
            None => {
                let snake = snake_case(field.name());
                if snake == field.name() {
                    vec![snake]
                } else {
                    vec![field.name().to_owned(), snake]
                }
            }
        };
        let found = looked_for
            .iter()
            .find_map(|name| present.iter().find(|c| &c.column == name));
        let Some(info) = found else {
            // A field mapped explicitly must resolve: a typo must not silently drop a ban or
            // revocation column.
            if field.required() || overrides.fields.contains_key(&field) {
                return Err(SchemaError::MissingColumn {
                    model: model.as_str(),
                    table: table.to_owned(),
                    field: field.name(),
                    looked_for: quoted_list(looked_for.iter().map(String::as_str)),
                    variable: model.fields_variable(),
                });
            }
            continue;
        };
        let wrong_type = |expected| SchemaError::WrongType {
            model: model.as_str(),
            table: table.to_owned(),
            column: info.column.clone(),
            field: field.name(),
            found: info.data_type.clone(),
            expected,
        };
        let naive_timestamp = match field.kind() {
            Kind::Timestamp => match info.data_type.as_str() {
                "timestamp with time zone" => false,
                "timestamp without time zone" => true,
                _ => return Err(wrong_type("timestamptz or timestamp")),
            },
            Kind::Bool if info.data_type != "boolean" => return Err(wrong_type("boolean")),
            Kind::Integer
                if !matches!(
                    info.data_type.as_str(),
                    "integer" | "bigint" | "smallint" | "numeric" | "double precision" | "real"
                ) =>
            {
                return Err(wrong_type("a number"));
            }
            _ => false,
        };
        if validate_identifier(&info.column).is_err() {
            // A column we could not quote safely is treated as absent (only required ones fail).
            if field.required() {
                return Err(wrong_type("a plain identifier name"));
            }
            continue;
        }
        let cast = match info.data_type.as_str() {
            "uuid" => Some("uuid"),
            "integer" => Some("integer"),
            "bigint" => Some("bigint"),
            "smallint" => Some("smallint"),
            _ => None,
        };
        resolved.insert(
            field,
            Column {
                name: info.column.clone(),
                naive_timestamp,
                cast,
            },
        );
    }
    let qualified = match db_schema {
        Some(schema) => format!("{}.{}", quote(schema), quote(table)),
        None => quote(table),
    };
    Ok(TableLayout {
        name: table.to_owned(),
        qualified,
        columns: resolved,
    })
}

/// Why an identifier from configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "\"{0}\" is not a valid identifier (letters, digits and _, starting with a letter or _, at most 63 bytes)"
)]
pub struct IdentifierError(pub String);

/// Accepts `[A-Za-z_][A-Za-z0-9_]*`, at most 63 bytes (PostgreSQL's limit).
pub fn validate_identifier(name: &str) -> Result<(), IdentifierError> {
    let mut bytes = name.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_');
    if first_ok && name.len() <= 63 && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        Ok(())
    } else {
        Err(IdentifierError(name.to_owned()))
    }
}

/// Quotes an identifier for SQL (`"user"`), doubling any `"` for good measure.
pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::postgres::lookups::SessionLookup;

    fn lookup_sql(layout: &SchemaLayout) -> String {
        SessionLookup::new(layout).expect("a session table").sql
    }

    fn cols(table: &str, list: &[(&str, &str)]) -> Vec<ColumnInfo> {
        list.iter()
            .map(|(column, data_type)| ColumnInfo {
                table: table.to_owned(),
                column: (*column).to_owned(),
                data_type: (*data_type).to_owned(),
            })
            .collect()
    }

    const TZ: &str = "timestamp with time zone";
    const NAIVE: &str = "timestamp without time zone";

    fn better_auth_default() -> Vec<ColumnInfo> {
        let mut c = cols(
            "user",
            &[
                ("id", "text"),
                ("name", "text"),
                ("email", "text"),
                ("emailVerified", "boolean"),
                ("image", "text"),
                ("createdAt", TZ),
                ("updatedAt", TZ),
                ("role", "text"),
                ("banned", "boolean"),
                ("banReason", "text"),
                ("banExpires", TZ),
            ],
        );
        c.extend(cols(
            "session",
            &[
                ("id", "text"),
                ("expiresAt", TZ),
                ("token", "text"),
                ("createdAt", TZ),
                ("updatedAt", TZ),
                ("ipAddress", "text"),
                ("userAgent", "text"),
                ("userId", "text"),
                ("impersonatedBy", "text"),
            ],
        ));
        c
    }

    #[test]
    fn resolves_better_auths_default_schema() {
        let layout = resolve(
            "public",
            &better_auth_default(),
            &SchemaOverrides::default(),
        )
        .expect("resolves");
        assert_eq!(layout.user.name, "user");
        let session = layout.session.as_ref().expect("a session table");
        assert_eq!(session.name, "session");
        assert!(!session.has(SessionField::Revoked));
        assert_eq!(layout.revocation, Revocation::Delete);
        assert_eq!(
            lookup_sql(&layout),
            "SELECT s.\"id\"::text, s.\"expiresAt\", s.\"impersonatedBy\"::text, false, \
             u.\"id\"::text, u.\"email\"::text, u.\"name\"::text, u.\"emailVerified\", u.\"role\"::text, u.\"banned\", u.\"banExpires\", \
             i.\"banned\", i.\"banExpires\" \
             FROM \"session\" AS s JOIN \"user\" AS u ON u.\"id\" = s.\"userId\" \
             LEFT JOIN \"user\" AS i ON i.\"id\" = (s.\"impersonatedBy\")::text WHERE s.\"token\" = $1"
        );
    }

    #[test]
    fn resolves_snake_case_naive_timestamps_and_renamed_tables() {
        let mut c = cols(
            "users",
            &[
                ("id", "uuid"),
                ("name", "text"),
                ("email", "character varying"),
                ("email_verified", "boolean"),
            ],
        );
        c.extend(cols(
            "user_sessions",
            &[
                ("id", "uuid"),
                ("token", "text"),
                ("user_id", "uuid"),
                ("expires_at", NAIVE),
                ("revoked", "boolean"),
            ],
        ));
        let layout = resolve("public", &c, &SchemaOverrides::default()).expect("resolves");
        let sql = lookup_sql(&layout);
        assert!(
            sql.contains("(s.\"expires_at\" AT TIME ZONE 'UTC')"),
            "{sql}"
        );
        assert!(sql.contains("COALESCE(s.\"revoked\", false)"), "{sql}");
        assert!(sql.contains("NULL::boolean"), "{sql}");
        assert!(
            sql.contains(
                "FROM \"user_sessions\" AS s JOIN \"users\" AS u ON u.\"id\" = s.\"user_id\""
            ),
            "{sql}"
        );
    }

    #[test]
    fn overrides_win_and_are_schema_qualified() {
        let mut c = cols(
            "members",
            &[
                ("member_id", "text"),
                ("name", "text"),
                ("mail", "text"),
                ("verified", "boolean"),
            ],
        );
        c.extend(cols(
            "logins",
            &[
                ("id", "text"),
                ("token", "text"),
                ("member", "text"),
                ("valid_until", TZ),
            ],
        ));
        let overrides = SchemaOverrides {
            db_schema: Some("auth".into()),
            user: TableOverride {
                table: Some("members".into()),
                fields: [
                    (UserField::Id, "member_id"),
                    (UserField::Email, "mail"),
                    (UserField::EmailVerified, "verified"),
                ]
                .into_iter()
                .map(|(a, b)| (a, b.to_owned()))
                .collect(),
            },
            session: TableOverride {
                table: Some("logins".into()),
                fields: [
                    (SessionField::UserId, "member"),
                    (SessionField::ExpiresAt, "valid_until"),
                ]
                .into_iter()
                .map(|(a, b)| (a, b.to_owned()))
                .collect(),
            },
            ..SchemaOverrides::default()
        };
        let layout = resolve("auth", &c, &overrides).expect("resolves");
        let sql = lookup_sql(&layout);
        assert!(
            sql.contains("FROM \"auth\".\"logins\" AS s JOIN \"auth\".\"members\" AS u ON u.\"member_id\" = s.\"member\""),
            "{sql}"
        );
    }

    #[test]
    fn names_the_missing_table_or_column() {
        let err = resolve("public", &[], &SchemaOverrides::default()).expect_err("no tables");
        assert_eq!(
            err.to_string(),
            "no user table in schema \"public\" (looked for \"user\", \"users\"); create it with Better Auth's migrator or set BETTER_AUTH_USER_TABLE"
        );
        let mut c = better_auth_default();
        c.retain(|x| !(x.table == "session" && x.column == "expiresAt"));
        let err = resolve("public", &c, &SchemaOverrides::default()).expect_err("no expiresAt");
        assert_eq!(
            err.to_string(),
            "table \"session\" has no column for session.expiresAt (looked for \"expiresAt\", \"expires_at\"); set BETTER_AUTH_SESSION_FIELDS=expiresAt=<column>"
        );
    }

    #[test]
    fn an_explicit_mapping_must_resolve_even_for_optional_fields() {
        let mut overrides = SchemaOverrides::default();
        overrides
            .user
            .fields
            .insert(UserField::Banned, "is_banned_typo".into());
        let err = resolve("public", &better_auth_default(), &overrides).expect_err("typo");
        assert!(
            matches!(
                err,
                SchemaError::MissingColumn {
                    field: "banned",
                    variable: "BETTER_AUTH_USER_FIELDS",
                    ..
                }
            ),
            "{err}"
        );
        let mut overrides = SchemaOverrides::default();
        overrides
            .session
            .fields
            .insert(SessionField::Revoked, "revokd".into());
        assert!(resolve("public", &better_auth_default(), &overrides).is_err());
    }

    #[test]
    fn organization_tables_are_optional_and_teams_more_so() {
        let mut c = better_auth_default();
        assert!(
            resolve("public", &c, &SchemaOverrides::default())
                .expect("resolves")
                .organizations
                .is_none()
        );
        c.extend(cols(
            "organization",
            &[("id", "text"), ("name", "text"), ("slug", "text")],
        ));
        c.extend(cols(
            "member",
            &[
                ("id", "text"),
                ("organizationId", "text"),
                ("userId", "text"),
                ("role", "text"),
            ],
        ));
        let layout = resolve("public", &c, &SchemaOverrides::default()).expect("resolves");
        let orgs = layout.organizations.expect("the plugin's tables");
        assert!(orgs.teams.is_none());
        c.extend(cols("team", &[("id", "text"), ("organizationId", "text")]));
        c.extend(cols(
            "teamMember",
            &[("id", "text"), ("teamId", "text"), ("userId", "text")],
        ));
        let layout = resolve("public", &c, &SchemaOverrides::default()).expect("resolves");
        assert!(layout.organizations.expect("tables").teams.is_some());
        // A member table without a role is not the plugin's: no organization is ever confirmed.
        c.retain(|x| !(x.table == "member" && x.column == "role"));
        let layout = resolve("public", &c, &SchemaOverrides::default()).expect("resolves");
        assert!(layout.organizations.is_none());
    }

    #[test]
    fn admin_columns_can_be_required() {
        let mut c = better_auth_default();
        c.retain(|x| x.column != "banned");
        let lax = SchemaOverrides::default();
        assert!(resolve("public", &c, &lax).is_ok());
        let strict = SchemaOverrides {
            require_admin_columns: true,
            ..SchemaOverrides::default()
        };
        let err = resolve("public", &c, &strict).expect_err("no banned column");
        assert!(
            err.to_string()
                .contains("BETTER_AUTH_REQUIRE_ADMIN_COLUMNS"),
            "{err}"
        );
        assert!(resolve("public", &better_auth_default(), &strict).is_ok());
    }

    #[test]
    fn refuses_columns_of_the_wrong_type() {
        let mut c = better_auth_default();
        for x in &mut c {
            if x.column == "expiresAt" {
                x.data_type = "bigint".into();
            }
        }
        let err = resolve("public", &c, &SchemaOverrides::default()).expect_err("wrong type");
        assert!(
            matches!(
                err,
                SchemaError::WrongType {
                    field: "expiresAt",
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn works_without_the_admin_plugin() {
        let mut c = better_auth_default();
        c.retain(|x| {
            ![
                "role",
                "banned",
                "banReason",
                "banExpires",
                "impersonatedBy",
            ]
            .contains(&x.column.as_str())
        });
        let layout = resolve("public", &c, &SchemaOverrides::default()).expect("resolves");
        let sql = lookup_sql(&layout);
        assert!(
            sql.contains("NULL::text, false, u.\"id\"::text, u.\"email\"::text"),
            "{sql}"
        );
        assert!(
            sql.contains(
                "NULL::text, NULL::boolean, NULL::timestamptz, NULL::boolean, NULL::timestamptz FROM"
            ),
            "{sql}"
        );
    }

    #[test]
    fn identifiers_are_validated_and_quoted() {
        assert!(validate_identifier("user_sessions").is_ok());
        assert!(validate_identifier("_x1").is_ok());
        for bad in [
            "",
            "1abc",
            "a-b",
            "user\"; drop table x;--",
            "a b",
            &"a".repeat(64),
            "é",
        ] {
            assert!(validate_identifier(bad).is_err(), "{bad}");
        }
        assert_eq!(quote("user"), "\"user\"");
        assert_eq!(quote("a\"b"), "\"a\"\"b\"");
    }

    #[test]
    fn snake_cases_camel_names() {
        assert_eq!(snake_case("emailVerified"), "email_verified");
        assert_eq!(snake_case("banExpires"), "ban_expires");
        assert_eq!(snake_case("id"), "id");
    }
}
