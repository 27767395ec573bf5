//! The resolved layout: where each model's table and columns are, and how a session is revoked.

use std::collections::BTreeMap;

use super::fields::{
    Kind, MemberField, ModelField, ModelSet, OrganizationField, PerModel, SessionField, TeamField,
    TeamMemberField, UserField,
};
use super::identifier::quote;

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
    pub(super) qualified: String,
    pub(super) columns: BTreeMap<F, Column>,
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
    /// Every model's table, when there is one that fits (read them with [`Self::table`]).
    pub tables: ModelSet<Found>,
    /// User columns the context carries: `(field, column)`, the plugin fields that exist and
    /// the configured ones.
    pub user_context: Vec<(String, Column)>,
    /// The organization plugin's tables, when the plugin's organization and member tables fit.
    pub organizations: Option<OrganizationLayout>,
    /// How sessions are revoked.
    pub revocation: Revocation,
}

/// [`ModelSet`] of resolved tables: `None` where no table fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {}

impl PerModel for Found {
    type Of<F: ModelField> = Option<TableLayout<F>>;
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
    /// The table of the model whose fields are `F`, when there is one that fits.
    pub fn table<F: ModelField>(&self) -> Option<&TableLayout<F>> {
        self.tables.get::<F>().as_ref()
    }

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
