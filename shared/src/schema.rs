//! Where Better Auth's `user` and `session` live in this database, and the SQL that reads them.
//!
//! The layout is resolved once per container from `information_schema` (see
//! [`crate::db::Database`]), with explicit overrides from configuration taking precedence.
//! Resolution itself is a pure function ([`resolve`]) so every schema variant is unit-testable.
//! Every identifier is validated ([`validate_identifier`]) and quoted ([`quote`]): configuration
//! can never inject SQL.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The two Better Auth models we read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Model {
    /// Better Auth's `user` model.
    User,
    /// Better Auth's `session` model.
    Session,
    /// Better Auth's `account` model (linked sign-in methods). Optional.
    Account,
    /// The jwt plugin's `jwks` model (public keys; the private ones are never read). Optional.
    Jwks,
}

impl Model {
    /// The model's name in Better Auth.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Session => "session",
            Self::Account => "account",
            Self::Jwks => "jwks",
        }
    }

    /// Table names tried, in order, when none is configured.
    pub fn default_tables(self) -> &'static [&'static str] {
        match self {
            Self::User => &["user", "users"],
            Self::Session => &["session", "sessions", "user_sessions"],
            Self::Account => &["account", "accounts", "user_accounts"],
            Self::Jwks => &["jwks"],
        }
    }

    /// The environment variable that names the table.
    pub fn table_variable(self) -> &'static str {
        match self {
            Self::User => "BETTER_AUTH_USER_TABLE",
            Self::Session => "BETTER_AUTH_SESSION_TABLE",
            Self::Account => "BETTER_AUTH_ACCOUNT_TABLE",
            Self::Jwks => "BETTER_AUTH_JWKS_TABLE",
        }
    }

    /// The environment variable that maps fields to columns.
    pub fn fields_variable(self) -> &'static str {
        match self {
            Self::User => "BETTER_AUTH_USER_FIELDS",
            Self::Session => "BETTER_AUTH_SESSION_FIELDS",
            Self::Account => "BETTER_AUTH_ACCOUNT_FIELDS",
            Self::Jwks => "BETTER_AUTH_JWKS_FIELDS",
        }
    }

    /// The fields we know, with their kind and whether the table must have them.
    pub fn fields(self) -> &'static [Field] {
        match self {
            Self::User => USER_FIELDS,
            Self::Session => SESSION_FIELDS,
            Self::Account => ACCOUNT_FIELDS,
            Self::Jwks => JWKS_FIELDS,
        }
    }
}

/// How a column is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Read as text (ids of any type are cast).
    Text,
    /// Must be `boolean`.
    Bool,
    /// Must be `timestamptz` or `timestamp` (then read as UTC).
    Timestamp,
}

/// One field of a Better Auth model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// Better Auth's (camelCase) name.
    pub name: &'static str,
    /// How it is read.
    pub kind: Kind,
    /// Whether resolution fails without it.
    pub required: bool,
}

const fn field(name: &'static str, kind: Kind, required: bool) -> Field {
    Field {
        name,
        kind,
        required,
    }
}

const USER_FIELDS: &[Field] = &[
    field("id", Kind::Text, true),
    field("name", Kind::Text, true),
    field("email", Kind::Text, true),
    field("emailVerified", Kind::Bool, true),
    field("image", Kind::Text, false),
    field("createdAt", Kind::Timestamp, false),
    field("updatedAt", Kind::Timestamp, false),
    field("role", Kind::Text, false),
    field("banned", Kind::Bool, false),
    field("banReason", Kind::Text, false),
    field("banExpires", Kind::Timestamp, false),
];

const SESSION_FIELDS: &[Field] = &[
    field("id", Kind::Text, true),
    field("token", Kind::Text, true),
    field("userId", Kind::Text, true),
    field("expiresAt", Kind::Timestamp, true),
    field("createdAt", Kind::Timestamp, false),
    field("updatedAt", Kind::Timestamp, false),
    field("ipAddress", Kind::Text, false),
    field("userAgent", Kind::Text, false),
    field("impersonatedBy", Kind::Text, false),
    field("revoked", Kind::Bool, false),
];

// Only what may be shown: never the access, refresh or id tokens, nor the password hash.
const ACCOUNT_FIELDS: &[Field] = &[
    field("id", Kind::Text, true),
    field("accountId", Kind::Text, true),
    field("providerId", Kind::Text, true),
    field("userId", Kind::Text, true),
    field("scope", Kind::Text, false),
    field("createdAt", Kind::Timestamp, false),
    field("updatedAt", Kind::Timestamp, false),
];

// Public keys only: `privateKey` is never selected.
const JWKS_FIELDS: &[Field] = &[
    field("id", Kind::Text, true),
    field("publicKey", Kind::Text, true),
    field("alg", Kind::Text, false),
    field("crv", Kind::Text, false),
    field("createdAt", Kind::Timestamp, false),
    field("expiresAt", Kind::Timestamp, false),
];

/// Explicit names from configuration; anything unset is detected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchemaOverrides {
    /// The PostgreSQL schema (namespace); default: the connection's `current_schema()`.
    pub db_schema: Option<String>,
    /// The user table's name.
    pub user_table: Option<String>,
    /// The session table's name.
    pub session_table: Option<String>,
    /// User field → column.
    pub user_fields: BTreeMap<String, String>,
    /// Session field → column.
    pub session_fields: BTreeMap<String, String>,
    /// The account table's name.
    pub account_table: Option<String>,
    /// Account field → column.
    pub account_fields: BTreeMap<String, String>,
    /// The jwks table's name.
    pub jwks_table: Option<String>,
    /// Jwks field → column.
    pub jwks_fields: BTreeMap<String, String>,
}

impl SchemaOverrides {
    fn table(&self, model: Model) -> Option<&str> {
        match model {
            Model::User => self.user_table.as_deref(),
            Model::Session => self.session_table.as_deref(),
            Model::Account => self.account_table.as_deref(),
            Model::Jwks => self.jwks_table.as_deref(),
        }
    }

    fn fields(&self, model: Model) -> &BTreeMap<String, String> {
        match model {
            Model::User => &self.user_fields,
            Model::Session => &self.session_fields,
            Model::Account => &self.account_fields,
            Model::Jwks => &self.jwks_fields,
        }
    }

    /// Table names worth asking `information_schema` about.
    pub fn candidate_tables(&self) -> Vec<String> {
        [Model::User, Model::Session, Model::Account, Model::Jwks]
            .into_iter()
            .flat_map(|model| match self.table(model) {
                Some(table) => vec![table.to_owned()],
                None => model
                    .default_tables()
                    .iter()
                    .map(|t| (*t).to_owned())
                    .collect(),
            })
            .collect()
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

/// The query that lists the candidate tables' columns: `$1` the schema or NULL, `$2` the names.
pub const DETECT_SQL: &str = "SELECT table_name::text, column_name::text, data_type::text, \
     COALESCE($1::text, current_schema())::text \
     FROM information_schema.columns \
     WHERE table_schema = COALESCE($1::text, current_schema()) AND table_name = ANY($2::text[])";

/// Why the database does not fit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    /// None of the table names tried exists.
    #[error(
        "no {model} table in schema \"{schema}\" (looked for {looked_for}); create it with Better Auth's migrator or set {variable}"
    )]
    MissingTable {
        /// `user` or `session`.
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
        /// `user` or `session`.
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
    /// A column exists but cannot hold what Better Auth stores there.
    #[error("column \"{table}\".\"{column}\" ({model}.{field}) is {found}, expected {expected}")]
    WrongType {
        /// `user` or `session`.
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

/// A resolved table: its name and the columns of the fields it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableLayout {
    /// The table's name.
    pub name: String,
    columns: BTreeMap<&'static str, Column>,
}

impl TableLayout {
    /// The column of a Better Auth field, when the table has it.
    pub fn column(&self, field: &str) -> Option<&Column> {
        self.columns.get(field)
    }

    /// Whether the table has the field.
    pub fn has(&self, field: &str) -> bool {
        self.columns.contains_key(field)
    }

    /// `alias."column"`, with naive timestamps converted to `timestamptz` and text cast to text;
    /// a typed NULL (or `false` for `revoked`) when the field is absent.
    pub fn select(&self, alias: &str, field: &Field) -> String {
        match (self.columns.get(field.name), field.kind) {
            (Some(column), Kind::Timestamp) if column.naive_timestamp => {
                format!("({alias}.{} AT TIME ZONE 'UTC')", quote(&column.name))
            }
            (Some(column), Kind::Text) => format!("{alias}.{}::text", quote(&column.name)),
            (Some(column), _) => format!("{alias}.{}", quote(&column.name)),
            (None, Kind::Text) => "NULL::text".to_owned(),
            (None, Kind::Bool) => "NULL::boolean".to_owned(),
            (None, Kind::Timestamp) => "NULL::timestamptz".to_owned(),
        }
    }

    /// `alias."column" = $n`, with the text parameter cast to the column's type when needed.
    pub fn eq_param(&self, alias: &str, field: &str, n: usize) -> String {
        let cast = self.columns.get(field).and_then(|c| c.cast);
        match cast {
            Some(ty) => format!("{} = CAST(${n}::text AS {ty})", self.col(alias, field)),
            None => format!("{} = ${n}", self.col(alias, field)),
        }
    }

    /// The value to write into a timestamp field: `expr` is a `timestamptz` expression.
    pub fn ts_value(&self, field: &str, expr: &str) -> String {
        match self.columns.get(field) {
            Some(c) if c.naive_timestamp => format!("({expr} AT TIME ZONE 'UTC')"),
            _ => expr.to_owned(),
        }
    }

    /// `alias."column"` of a field the table must have (required fields always resolve).
    pub fn col(&self, alias: &str, field: &str) -> String {
        let name = self.columns.get(field).map_or(field, |c| c.name.as_str());
        format!("{alias}.{}", quote(name))
    }
}

/// Where the user and session tables are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaLayout {
    /// The PostgreSQL schema, when configured (else the connection's search path applies).
    pub db_schema: Option<String>,
    /// The user table.
    pub user: TableLayout,
    /// The session table.
    pub session: TableLayout,
    /// The account table, when there is one that fits.
    pub account: Option<TableLayout>,
    /// The jwt plugin's key table, when there is one that fits.
    pub jwks: Option<TableLayout>,
}

fn field_of(model: Model, name: &str) -> &'static Field {
    model
        .fields()
        .iter()
        .find(|f| f.name == name)
        .unwrap_or(&model.fields()[0])
}

impl SchemaLayout {
    /// The table's name, schema-qualified when a schema is configured, quoted.
    pub fn table(&self, model: Model) -> String {
        let table = match model {
            Model::User => &self.user.name,
            Model::Session => &self.session.name,
            Model::Account => self.account.as_ref().map_or("account", |a| a.name.as_str()),
            Model::Jwks => self.jwks.as_ref().map_or("jwks", |a| a.name.as_str()),
        };
        match &self.db_schema {
            Some(schema) => format!("{}.{}", quote(schema), quote(table)),
            None => quote(table),
        }
    }

    /// The user's `banned` and `banExpires` by id (`$1`).
    pub fn user_ban_sql(&self) -> String {
        let u = &self.user;
        let uf = |name| field_of(Model::User, name);
        format!(
            "SELECT {}, {} FROM {} AS u WHERE {}",
            u.select("u", uf("banned")),
            u.select("u", uf("banExpires")),
            self.table(Model::User),
            u.eq_param("u", "id", 1),
        )
    }

    /// The jwt plugin's public keys: id, publicKey, alg, expiresAt (never `privateKey`). `None`
    /// without a jwks table.
    pub fn jwks_sql(&self) -> Option<String> {
        let jwks = self.jwks.as_ref()?;
        let f = |name| field_of(Model::Jwks, name);
        Some(format!(
            "SELECT {}, {}, {}, {} FROM {} AS k",
            jwks.select("k", f("id")),
            jwks.select("k", f("publicKey")),
            jwks.select("k", f("alg")),
            jwks.select("k", f("expiresAt")),
            self.table(Model::Jwks),
        ))
    }

    /// One round trip: the session joined with its user, by token (`$1`). Columns, in order:
    /// session id, user id, expiresAt, impersonatedBy, revoked, email, name, emailVerified,
    /// role, banned, banExpires.
    pub fn session_lookup_sql(&self) -> String {
        let (s, u) = (&self.session, &self.user);
        let sf = |name| field_of(Model::Session, name);
        let uf = |name| field_of(Model::User, name);
        let revoked = match s.column("revoked") {
            Some(c) => format!("COALESCE(s.{}, false)", quote(&c.name)),
            None => "false".to_owned(),
        };
        let mut sql = String::with_capacity(512);
        let _ = write!(
            sql,
            "SELECT {}, {}, {}, {}, {revoked}, {}, {}, {}, {}, {}, {} FROM {} AS s JOIN {} AS u ON {} = {} WHERE {} = $1",
            s.select("s", sf("id")),
            s.select("s", sf("userId")),
            s.select("s", sf("expiresAt")),
            s.select("s", sf("impersonatedBy")),
            u.select("u", uf("email")),
            u.select("u", uf("name")),
            u.select("u", uf("emailVerified")),
            u.select("u", uf("role")),
            u.select("u", uf("banned")),
            u.select("u", uf("banExpires")),
            self.table(Model::Session),
            self.table(Model::User),
            u.col("u", "id"),
            s.col("s", "userId"),
            s.col("s", "token"),
        );
        sql
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
    Ok(SchemaLayout {
        db_schema: overrides.db_schema.clone(),
        user: resolve_table(Model::User, schema_name, columns, overrides)?,
        session: resolve_table(Model::Session, schema_name, columns, overrides)?,
        // The account table only serves `GET /auth/accounts`: without it, that route says so.
        account: resolve_table(Model::Account, schema_name, columns, overrides).ok(),
        // The jwt plugin's keys serve JWT verification only (BETTER_AUTH_METHODS=jwt).
        jwks: resolve_table(Model::Jwks, schema_name, columns, overrides).ok(),
    })
}

fn quoted_list<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    names
        .into_iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

fn resolve_table(
    model: Model,
    schema_name: &str,
    columns: &[ColumnInfo],
    overrides: &SchemaOverrides,
) -> Result<TableLayout, SchemaError> {
    let candidates: Vec<&str> = match overrides.table(model) {
        Some(table) => vec![table],
        None => model.default_tables().to_vec(),
    };
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
    for field in model.fields() {
        let looked_for: Vec<String> = match overrides.fields(model).get(field.name) {
            Some(column) => vec![column.clone()],
            None => {
                let snake = snake_case(field.name);
                if snake == field.name {
                    vec![snake]
                } else {
                    vec![field.name.to_owned(), snake]
                }
            }
        };
        let found = looked_for
            .iter()
            .find_map(|name| present.iter().find(|c| &c.column == name));
        let Some(info) = found else {
            if field.required {
                return Err(SchemaError::MissingColumn {
                    model: model.as_str(),
                    table: table.to_owned(),
                    field: field.name,
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
            field: field.name,
            found: info.data_type.clone(),
            expected,
        };
        let naive_timestamp = match field.kind {
            Kind::Timestamp => match info.data_type.as_str() {
                "timestamp with time zone" => false,
                "timestamp without time zone" => true,
                _ => return Err(wrong_type("timestamptz or timestamp")),
            },
            Kind::Bool if info.data_type != "boolean" => return Err(wrong_type("boolean")),
            _ => false,
        };
        if validate_identifier(&info.column).is_err() {
            // A column we could not quote safely is treated as absent (only required ones fail).
            if field.required {
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
            field.name,
            Column {
                name: info.column.clone(),
                naive_timestamp,
                cast,
            },
        );
    }
    Ok(TableLayout {
        name: table.to_owned(),
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
        assert_eq!(layout.session.name, "session");
        assert!(!layout.session.has("revoked"));
        assert_eq!(
            layout.session_lookup_sql(),
            "SELECT s.\"id\"::text, s.\"userId\"::text, s.\"expiresAt\", s.\"impersonatedBy\"::text, false, \
             u.\"email\"::text, u.\"name\"::text, u.\"emailVerified\", u.\"role\"::text, u.\"banned\", u.\"banExpires\" \
             FROM \"session\" AS s JOIN \"user\" AS u ON u.\"id\" = s.\"userId\" WHERE s.\"token\" = $1"
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
        let sql = layout.session_lookup_sql();
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
            user_table: Some("members".into()),
            session_table: Some("logins".into()),
            user_fields: [
                ("id", "member_id"),
                ("email", "mail"),
                ("emailVerified", "verified"),
            ]
            .into_iter()
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
            .collect(),
            session_fields: [("userId", "member"), ("expiresAt", "valid_until")]
                .into_iter()
                .map(|(a, b)| (a.to_owned(), b.to_owned()))
                .collect(),
            ..SchemaOverrides::default()
        };
        let layout = resolve("auth", &c, &overrides).expect("resolves");
        let sql = layout.session_lookup_sql();
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
        let sql = layout.session_lookup_sql();
        assert!(
            sql.contains("NULL::text, false, u.\"email\"::text"),
            "{sql}"
        );
        assert!(
            sql.contains("NULL::text, NULL::boolean, NULL::timestamptz FROM"),
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
