//! Users, sessions and accounts for the account-management functions: every query they run.
//!
//! Each write is one atomic statement (a ban sets the user's ban and revokes their sessions in one
//! data-modifying CTE) and sets `updatedAt`. Ids are compared with the column's own type, so
//! indexes are used for uuid and integer ids too. Revoking deletes session rows, as Better Auth
//! does, or sets `revoked` where the session table has that column.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Serialize, Serializer};
use tokio_postgres::Row;
use tokio_postgres::types::{ToSql, Type};

use crate::db::{Database, StoreError};
use crate::schema::{Field, Kind, Model, SchemaLayout, TableLayout};

/// Better Auth's JSON dates: ISO 8601, milliseconds, `Z`.
fn iso<S: Serializer>(value: &Option<DateTime<Utc>>, serializer: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(v) => serializer.serialize_str(&v.to_rfc3339_opts(SecondsFormat::Millis, true)),
        None => serializer.serialize_none(),
    }
}

fn iso_required<S: Serializer>(value: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&value.to_rfc3339_opts(SecondsFormat::Millis, true))
}

/// A user, in Better Auth's JSON shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserRecord {
    /// id
    pub id: String,
    /// name
    pub name: String,
    /// email
    pub email: String,
    /// emailVerified
    pub email_verified: bool,
    /// image
    pub image: Option<String>,
    /// createdAt
    #[serde(serialize_with = "iso")]
    pub created_at: Option<DateTime<Utc>>,
    /// updatedAt
    #[serde(serialize_with = "iso")]
    pub updated_at: Option<DateTime<Utc>>,
    /// role (admin plugin)
    pub role: Option<String>,
    /// banned (admin plugin)
    pub banned: Option<bool>,
    /// banReason (admin plugin)
    pub ban_reason: Option<String>,
    /// banExpires (admin plugin)
    #[serde(serialize_with = "iso")]
    pub ban_expires: Option<DateTime<Utc>>,
}

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

/// A linked account: never its tokens or password hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountInfo {
    /// id
    pub id: String,
    /// providerId (`credential`, `github`, …)
    pub provider_id: String,
    /// accountId (the provider's id for the user)
    pub account_id: String,
    /// userId
    pub user_id: String,
    /// scope
    pub scope: Option<String>,
    /// createdAt
    #[serde(serialize_with = "iso")]
    pub created_at: Option<DateTime<Utc>>,
    /// updatedAt
    #[serde(serialize_with = "iso")]
    pub updated_at: Option<DateTime<Utc>>,
}

/// Why a directory operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// The database failed or refused.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The schema lacks what the operation needs (admin-plugin columns, an account table).
    #[error("not supported by this database: {0}")]
    Unsupported(&'static str),
}

/// `searchField` / `filterField` / `sortBy` values users may name.
pub const USER_FIELDS_LISTABLE: &[&str] = &[
    "id",
    "name",
    "email",
    "emailVerified",
    "image",
    "createdAt",
    "updatedAt",
    "role",
    "banned",
    "banReason",
    "banExpires",
];

/// How a text search or filter matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// =
    Eq,
    /// <>
    Ne,
    /// <
    Lt,
    /// <=
    Lte,
    /// >
    Gt,
    /// >=
    Gte,
    /// substring, case-insensitive
    Contains,
    /// prefix, case-insensitive
    StartsWith,
    /// suffix, case-insensitive
    EndsWith,
}

impl Operator {
    /// Parses Better Auth's operator names.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "eq" => Self::Eq,
            "ne" => Self::Ne,
            "lt" => Self::Lt,
            "lte" => Self::Lte,
            "gt" => Self::Gt,
            "gte" => Self::Gte,
            "contains" => Self::Contains,
            "starts_with" => Self::StartsWith,
            "ends_with" => Self::EndsWith,
            _ => return None,
        })
    }

    fn is_pattern(self) -> bool {
        matches!(self, Self::Contains | Self::StartsWith | Self::EndsWith)
    }

    fn sql(self) -> &'static str {
        match self {
            Self::Eq => "=",
            Self::Ne => "<>",
            Self::Lt => "<",
            Self::Lte => "<=",
            Self::Gt => ">",
            Self::Gte => ">=",
            Self::Contains | Self::StartsWith | Self::EndsWith => "ILIKE",
        }
    }

    fn pattern(self, value: &str) -> String {
        let escaped = value
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        match self {
            Self::StartsWith => format!("{escaped}%"),
            Self::EndsWith => format!("%{escaped}"),
            _ => format!("%{escaped}%"),
        }
    }
}

/// A typed value to compare a column with.
#[derive(Debug, Clone, PartialEq)]
pub enum FilterValue {
    /// text columns
    Text(String),
    /// boolean columns
    Bool(bool),
    /// timestamp columns
    Time(DateTime<Utc>),
}

/// One condition on a user field.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// A name from [`USER_FIELDS_LISTABLE`].
    pub field: String,
    /// How to compare.
    pub operator: Operator,
    /// With what.
    pub value: FilterValue,
}

/// `GET /users`' query, already validated.
#[derive(Debug, Clone, PartialEq)]
pub struct UserQuery {
    /// At most this many.
    pub limit: i64,
    /// Skipping this many.
    pub offset: i64,
    /// searchValue / searchField / searchOperator.
    pub search: Option<Condition>,
    /// filterValue / filterField / filterOperator.
    pub filter: Option<Condition>,
    /// sortBy, and whether descending.
    pub sort: Option<(String, bool)>,
}

/// A page of users.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserPage {
    /// The users.
    pub users: Vec<UserRecord>,
    /// How many match in all.
    pub total: i64,
    /// The limit applied.
    pub limit: i64,
    /// The offset applied.
    pub offset: i64,
}

/// Changes to a user (`PATCH /users/{id}`), already validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserChanges {
    /// name
    pub name: Option<String>,
    /// image (Some(None) clears it)
    pub image: Option<Option<String>>,
    /// email, normalised
    pub email: Option<String>,
    /// emailVerified
    pub email_verified: Option<bool>,
}

impl UserChanges {
    /// Whether nothing would change.
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.image.is_none()
            && self.email.is_none()
            && self.email_verified.is_none()
    }
}

type Param = (Box<dyn ToSql + Sync + Send>, Type);

fn text(value: impl Into<String>) -> Param {
    (Box::new(value.into()), Type::TEXT)
}

/// The queries, bound to a database and its detected layout.
pub struct Directory<'a> {
    db: &'a Database,
    layout: &'a SchemaLayout,
}

fn field(model: Model, name: &str) -> Option<&'static Field> {
    model.fields().iter().find(|f| f.name == name)
}

const USER_COLUMNS: [&str; 11] = [
    "id",
    "name",
    "email",
    "emailVerified",
    "image",
    "createdAt",
    "updatedAt",
    "role",
    "banned",
    "banReason",
    "banExpires",
];

const SESSION_COLUMNS: [&str; 8] = [
    "id",
    "userId",
    "expiresAt",
    "createdAt",
    "updatedAt",
    "ipAddress",
    "userAgent",
    "impersonatedBy",
];

const ACCOUNT_COLUMNS: [&str; 7] = [
    "id",
    "providerId",
    "accountId",
    "userId",
    "scope",
    "createdAt",
    "updatedAt",
];

fn select_list(table: &TableLayout, model: Model, alias: &str, fields: &[&str]) -> String {
    fields
        .iter()
        .filter_map(|name| field(model, name))
        .map(|f| table.select(alias, f))
        .collect::<Vec<_>>()
        .join(", ")
}

fn bad_row(e: tokio_postgres::Error) -> StoreError {
    StoreError::Query(format!("unexpected column value: {e}"))
}

fn user_from(row: &Row, at: usize) -> Result<UserRecord, StoreError> {
    Ok(UserRecord {
        id: row.try_get(at).map_err(bad_row)?,
        name: row
            .try_get::<_, Option<String>>(at + 1)
            .map_err(bad_row)?
            .unwrap_or_default(),
        email: row
            .try_get::<_, Option<String>>(at + 2)
            .map_err(bad_row)?
            .unwrap_or_default(),
        email_verified: row
            .try_get::<_, Option<bool>>(at + 3)
            .map_err(bad_row)?
            .unwrap_or(false),
        image: row.try_get(at + 4).map_err(bad_row)?,
        created_at: row.try_get(at + 5).map_err(bad_row)?,
        updated_at: row.try_get(at + 6).map_err(bad_row)?,
        role: row.try_get(at + 7).map_err(bad_row)?,
        banned: row.try_get(at + 8).map_err(bad_row)?,
        ban_reason: row.try_get(at + 9).map_err(bad_row)?,
        ban_expires: row.try_get(at + 10).map_err(bad_row)?,
    })
}

fn session_from(row: &Row) -> Result<SessionInfo, StoreError> {
    Ok(SessionInfo {
        id: row.try_get(0).map_err(bad_row)?,
        user_id: row.try_get(1).map_err(bad_row)?,
        expires_at: row.try_get(2).map_err(bad_row)?,
        created_at: row.try_get(3).map_err(bad_row)?,
        updated_at: row.try_get(4).map_err(bad_row)?,
        ip_address: row.try_get(5).map_err(bad_row)?,
        user_agent: row.try_get(6).map_err(bad_row)?,
        impersonated_by: row.try_get(7).map_err(bad_row)?,
    })
}

fn account_from(row: &Row) -> Result<AccountInfo, StoreError> {
    Ok(AccountInfo {
        id: row.try_get(0).map_err(bad_row)?,
        provider_id: row
            .try_get::<_, Option<String>>(1)
            .map_err(bad_row)?
            .unwrap_or_default(),
        account_id: row
            .try_get::<_, Option<String>>(2)
            .map_err(bad_row)?
            .unwrap_or_default(),
        user_id: row.try_get(3).map_err(bad_row)?,
        scope: row.try_get(4).map_err(bad_row)?,
        created_at: row.try_get(5).map_err(bad_row)?,
        updated_at: row.try_get(6).map_err(bad_row)?,
    })
}

impl Database {
    /// The account-management queries (detects the schema on first use).
    pub async fn directory(&self) -> Result<Directory<'_>, StoreError> {
        Ok(Directory {
            db: self,
            layout: self.layout().await?,
        })
    }
}

impl<'a> Directory<'a> {
    async fn run(&self, sql: &str, params: &[Param]) -> Result<Vec<Row>, StoreError> {
        let refs: Vec<(&(dyn ToSql + Sync), Type)> = params
            .iter()
            .map(|(v, t)| (v.as_ref() as &(dyn ToSql + Sync), t.clone()))
            .collect();
        self.db.query(sql, &refs).await
    }

    fn users(&self) -> &TableLayout {
        &self.layout.user
    }

    fn sessions(&self) -> &TableLayout {
        &self.layout.session
    }

    fn user_select(&self, alias: &str) -> String {
        select_list(self.users(), Model::User, alias, &USER_COLUMNS)
    }

    /// Whether the admin plugin's columns (`role`, `banned`, …) exist.
    pub fn has_admin_columns(&self) -> bool {
        let u = self.users();
        u.has("role") && u.has("banned") && u.has("banReason") && u.has("banExpires")
    }

    fn now_for(&self, table: &TableLayout, field: &str) -> String {
        table.ts_value(field, "now()")
    }

    /// `"updatedAt" = now()` for tables that have it.
    fn touch(&self, table: &TableLayout) -> Option<String> {
        let column = table.column("updatedAt")?;
        let name = crate::schema::quote(&column.name);
        Some(format!("{name} = {}", self.now_for(table, "updatedAt")))
    }

    /// One user by id.
    pub async fn user(&self, id: &str) -> Result<Option<UserRecord>, StoreError> {
        let sql = format!(
            "SELECT {} FROM {} AS u WHERE {}",
            self.user_select("u"),
            self.layout.table(Model::User),
            self.users().eq_param("u", "id", 1)
        );
        let rows = self.run(&sql, &[text(id)]).await?;
        rows.first().map(|r| user_from(r, 0)).transpose()
    }

    fn condition_sql(
        &self,
        condition: &Condition,
        n: usize,
    ) -> Result<(String, Param), DirectoryError> {
        let users = self.users();
        let spec = field(Model::User, &condition.field)
            .ok_or(DirectoryError::Unsupported("unknown field"))?;
        if !users.has(spec.name) {
            return Err(DirectoryError::Unsupported(
                "a field this database does not have",
            ));
        }
        let column = users.select("u", spec);
        let op = condition.operator;
        let (param, placeholder) = match (&condition.value, spec.kind) {
            (FilterValue::Text(v), Kind::Text) if op.is_pattern() => {
                (text(op.pattern(v)), format!("${n} ESCAPE '\\'"))
            }
            (FilterValue::Text(v), Kind::Text) => (text(v.clone()), format!("${n}")),
            (FilterValue::Bool(b), Kind::Bool) if matches!(op, Operator::Eq | Operator::Ne) => (
                (Box::new(*b) as Box<dyn ToSql + Sync + Send>, Type::BOOL),
                format!("${n}"),
            ),
            (FilterValue::Time(t), Kind::Timestamp) if !op.is_pattern() => (
                (
                    Box::new(*t) as Box<dyn ToSql + Sync + Send>,
                    Type::TIMESTAMPTZ,
                ),
                format!("${n}"),
            ),
            _ => {
                return Err(DirectoryError::Unsupported(
                    "that operator or value for that field",
                ));
            }
        };
        // `ne` keeps NULLs, as a user would expect "not banned" to include never-banned users.
        let sql = if op == Operator::Ne {
            format!("{column} IS DISTINCT FROM {placeholder}")
        } else {
            format!("{column} {} {placeholder}", op.sql())
        };
        Ok((sql, param))
    }

    /// `GET /users`: a filtered, sorted page and the total. One round trip in the usual case.
    pub async fn list_users(&self, query: &UserQuery) -> Result<UserPage, DirectoryError> {
        let mut conditions = Vec::new();
        let mut params: Vec<Param> = Vec::new();
        for condition in [&query.search, &query.filter].into_iter().flatten() {
            let (sql, param) = self.condition_sql(condition, params.len() + 1)?;
            conditions.push(sql);
            params.push(param);
        }
        let where_sql = if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        };
        let order = match &query.sort {
            Some((name, descending)) => {
                let spec = field(Model::User, name)
                    .ok_or(DirectoryError::Unsupported("unknown sort field"))?;
                if !self.users().has(spec.name) {
                    return Err(DirectoryError::Unsupported(
                        "a sort field this database does not have",
                    ));
                }
                let dir = if *descending { "DESC" } else { "ASC" };
                format!(
                    "{} {dir} NULLS LAST, {}",
                    self.users().select("u", spec),
                    self.users().col("u", "id")
                )
            }
            None => self.users().col("u", "id"),
        };
        let table = self.layout.table(Model::User);
        let limit_n = params.len() + 1;
        let sql = format!(
            "SELECT {}, count(*) OVER () FROM {table} AS u{where_sql} ORDER BY {order} LIMIT ${limit_n} OFFSET ${}",
            self.user_select("u"),
            limit_n + 1
        );
        let mut page_params = params;
        page_params.push((Box::new(query.limit), Type::INT8));
        page_params.push((Box::new(query.offset), Type::INT8));
        let rows = self.run(&sql, &page_params).await?;
        let users = rows
            .iter()
            .map(|r| user_from(r, 0))
            .collect::<Result<Vec<_>, _>>()?;
        let total = match rows.first() {
            Some(row) => row.try_get::<_, i64>(USER_COLUMNS.len()).map_err(bad_row)?,
            None if query.offset == 0 => 0,
            None => {
                page_params.truncate(page_params.len() - 2);
                let count_sql = format!("SELECT count(*) FROM {table} AS u{where_sql}");
                let rows = self.run(&count_sql, &page_params).await?;
                rows.first()
                    .map(|r| r.try_get::<_, i64>(0))
                    .transpose()
                    .map_err(bad_row)?
                    .unwrap_or(0)
            }
        };
        Ok(UserPage {
            users,
            total,
            limit: query.limit,
            offset: query.offset,
        })
    }

    /// Applies `SET` assignments to one user and returns the updated user (None: no such user).
    async fn update_user_sql(
        &self,
        id: &str,
        sets: Vec<String>,
        mut params: Vec<Param>,
    ) -> Result<Option<UserRecord>, StoreError> {
        let id_n = params.len() + 1;
        params.push(text(id));
        let sql = format!(
            "UPDATE {} AS u SET {} WHERE {} RETURNING {}",
            self.layout.table(Model::User),
            sets.join(", "),
            self.users().eq_param("u", "id", id_n),
            self.user_select("u")
        );
        let rows = self.run(&sql, &params).await?;
        rows.first().map(|r| user_from(r, 0)).transpose()
    }

    fn assignment(&self, field_name: &str, n: usize) -> Option<String> {
        let column = self.users().column(field_name)?;
        let name = crate::schema::quote(&column.name);
        Some(format!("{name} = ${n}"))
    }

    /// `PATCH /users/{id}`. Fails with `StoreError::Conflict` when the email is taken.
    pub async fn update_user(
        &self,
        id: &str,
        changes: &UserChanges,
    ) -> Result<Option<UserRecord>, DirectoryError> {
        let mut sets = Vec::new();
        let mut params: Vec<Param> = Vec::new();
        if let Some(name) = &changes.name {
            params.push(text(name.clone()));
            sets.extend(self.assignment("name", params.len()));
        }
        if let Some(image) = &changes.image {
            if !self.users().has("image") {
                return Err(DirectoryError::Unsupported(
                    "the user table has no image column",
                ));
            }
            params.push((Box::new(image.clone()), Type::TEXT));
            sets.extend(self.assignment("image", params.len()));
        }
        if let Some(email) = &changes.email {
            params.push(text(email.clone()));
            sets.extend(self.assignment("email", params.len()));
        }
        if let Some(verified) = changes.email_verified {
            params.push((Box::new(verified), Type::BOOL));
            sets.extend(self.assignment("emailVerified", params.len()));
        }
        sets.extend(self.touch(self.users()));
        Ok(self.update_user_sql(id, sets, params).await?)
    }

    /// `PUT /users/{id}/role`: stores the comma-separated role list.
    pub async fn set_role(
        &self,
        id: &str,
        role: &str,
    ) -> Result<Option<UserRecord>, DirectoryError> {
        if !self.users().has("role") {
            return Err(DirectoryError::Unsupported(
                "the admin plugin's role column is missing",
            ));
        }
        let mut sets: Vec<String> = self.assignment("role", 1).into_iter().collect();
        sets.extend(self.touch(self.users()));
        Ok(self.update_user_sql(id, sets, vec![text(role)]).await?)
    }

    fn revoke_sql(&self, target: &str) -> String {
        let sessions = self.sessions();
        let table = self.layout.table(Model::Session);
        match sessions.column("revoked") {
            Some(revoked) => {
                let mut sets = vec![format!("{} = true", crate::schema::quote(&revoked.name))];
                sets.extend(self.touch(sessions));
                format!("UPDATE {table} AS s SET {} {target}", sets.join(", "))
            }
            None => format!("DELETE FROM {table} AS s {target}"),
        }
    }

    /// `banned`, `banReason`, `banExpires` and `updatedAt` assignments, or why the table cannot
    /// hold a ban.
    fn ban_assignments(
        &self,
        banned: &str,
        reason: &str,
        expires: &str,
    ) -> Result<Vec<String>, DirectoryError> {
        if !self.has_admin_columns() {
            return Err(DirectoryError::Unsupported(
                "the admin plugin's ban columns are missing",
            ));
        }
        let users = self.users();
        let column = |f: &str| {
            users
                .column(f)
                .map(|c| crate::schema::quote(&c.name))
                .unwrap_or_default()
        };
        let mut sets = vec![
            format!("{} = {banned}", column("banned")),
            format!("{} = {reason}", column("banReason")),
            format!("{} = {expires}", column("banExpires")),
        ];
        sets.extend(self.touch(users));
        Ok(sets)
    }

    /// `POST /users/{id}/ban`: bans the user and revokes all their sessions, atomically.
    pub async fn ban(
        &self,
        id: &str,
        reason: &str,
        until: Option<DateTime<Utc>>,
    ) -> Result<Option<UserRecord>, DirectoryError> {
        let users = self.users();
        let expires = users.ts_value("banExpires", "$3::timestamptz");
        let sets = self.ban_assignments("true", "$2", &expires)?;
        let revoke_target = match self.sessions().column("revoked") {
            // UPDATE … FROM banned WHERE …
            Some(_) => format!(
                "FROM banned WHERE {} = banned.k",
                self.sessions().col("s", "userId")
            ),
            // DELETE … USING banned WHERE …
            None => format!(
                "USING banned WHERE {} = banned.k",
                self.sessions().col("s", "userId")
            ),
        };
        let sql = format!(
            "WITH banned AS (UPDATE {} AS u SET {} WHERE {} RETURNING {} AS k, {}), revoked AS ({}) SELECT * FROM banned",
            self.layout.table(Model::User),
            sets.join(", "),
            users.eq_param("u", "id", 1),
            users.col("u", "id"),
            self.user_select("u"),
            self.revoke_sql(&revoke_target),
        );
        let params: Vec<Param> = vec![text(id), text(reason), (Box::new(until), Type::TIMESTAMPTZ)];
        let rows = self.run(&sql, &params).await?;
        Ok(rows.first().map(|r| user_from(r, 1)).transpose()?)
    }

    /// `DELETE /users/{id}/ban`: clears banned, banReason and banExpires.
    pub async fn unban(&self, id: &str) -> Result<Option<UserRecord>, DirectoryError> {
        let sets = self.ban_assignments("false", "NULL", "NULL")?;
        Ok(self.update_user_sql(id, sets, Vec::new()).await?)
    }

    fn session_select(&self) -> String {
        select_list(self.sessions(), Model::Session, "s", &SESSION_COLUMNS)
    }

    fn active(&self) -> String {
        let sessions = self.sessions();
        let expires = sessions.select(
            "s",
            field(Model::Session, "expiresAt").unwrap_or(&Model::Session.fields()[0]),
        );
        let mut sql = format!("{expires} > now()");
        if let Some(revoked) = sessions.column("revoked") {
            sql.push_str(&format!(
                " AND NOT COALESCE(s.{}, false)",
                crate::schema::quote(&revoked.name)
            ));
        }
        sql
    }

    /// One session by id (any state).
    pub async fn session(&self, id: &str) -> Result<Option<SessionInfo>, StoreError> {
        let sql = format!(
            "SELECT {} FROM {} AS s WHERE {}",
            self.session_select(),
            self.layout.table(Model::Session),
            self.sessions().eq_param("s", "id", 1)
        );
        let rows = self.run(&sql, &[text(id)]).await?;
        rows.first().map(session_from).transpose()
    }

    /// A user's active sessions (not expired, not revoked), newest first.
    pub async fn sessions_of(&self, user_id: &str) -> Result<Vec<SessionInfo>, StoreError> {
        let order = match self.sessions().column("createdAt") {
            Some(c) => format!("s.{} DESC", crate::schema::quote(&c.name)),
            None => self.sessions().col("s", "id"),
        };
        let sql = format!(
            "SELECT {} FROM {} AS s WHERE {} AND {} ORDER BY {order}",
            self.session_select(),
            self.layout.table(Model::Session),
            self.sessions().eq_param("s", "userId", 1),
            self.active()
        );
        let rows = self.run(&sql, &[text(user_id)]).await?;
        rows.iter().map(session_from).collect()
    }

    /// Revokes the sessions `target` (a `WHERE …` clause) selects; returns how many.
    async fn revoke_where(&self, mut target: String, params: &[Param]) -> Result<u64, StoreError> {
        if self.sessions().has("revoked") {
            // Already revoked rows do not count again.
            target.push_str(&format!(" AND {}", self.active()));
        }
        let sql = format!(
            "WITH r AS ({} RETURNING 1) SELECT count(*) FROM r",
            self.revoke_sql(&target)
        );
        let rows = self.run(&sql, params).await?;
        let n = rows
            .first()
            .map(|r| r.try_get::<_, i64>(0))
            .transpose()
            .map_err(bad_row)?;
        Ok(u64::try_from(n.unwrap_or(0)).unwrap_or(0))
    }

    /// Revokes all of a user's sessions, except `keep` (a session id) when given. Returns how
    /// many were revoked.
    pub async fn revoke_sessions(
        &self,
        user_id: &str,
        keep: Option<&str>,
    ) -> Result<u64, StoreError> {
        let mut target = format!("WHERE {}", self.sessions().eq_param("s", "userId", 1));
        let mut params = vec![text(user_id)];
        if let Some(keep) = keep {
            target.push_str(&format!(
                " AND {}::text <> $2",
                self.sessions().col("s", "id")
            ));
            params.push(text(keep));
        }
        self.revoke_where(target, &params).await
    }

    /// Revokes one session if it belongs to `user_id`. Returns whether it did.
    pub async fn revoke_session(
        &self,
        user_id: &str,
        session_id: &str,
    ) -> Result<bool, StoreError> {
        let target = format!(
            "WHERE {} AND {}",
            self.sessions().eq_param("s", "userId", 1),
            self.sessions().eq_param("s", "id", 2)
        );
        Ok(self
            .revoke_where(target, &[text(user_id), text(session_id)])
            .await?
            > 0)
    }

    /// A user's linked accounts.
    pub async fn accounts_of(&self, user_id: &str) -> Result<Vec<AccountInfo>, DirectoryError> {
        let accounts = self
            .layout
            .account
            .as_ref()
            .ok_or(DirectoryError::Unsupported("no account table"))?;
        let order = match accounts.column("createdAt") {
            Some(c) => format!("a.{}", crate::schema::quote(&c.name)),
            None => accounts.col("a", "id"),
        };
        let sql = format!(
            "SELECT {} FROM {} AS a WHERE {} ORDER BY {order}",
            select_list(accounts, Model::Account, "a", &ACCOUNT_COLUMNS),
            self.layout.table(Model::Account),
            accounts.eq_param("a", "userId", 1)
        );
        let rows = self.run(&sql, &[text(user_id)]).await?;
        Ok(rows
            .iter()
            .map(account_from)
            .collect::<Result<Vec<_>, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_escape_wildcards() {
        assert_eq!(Operator::Contains.pattern("a%b_c\\"), "%a\\%b\\_c\\\\%");
        assert_eq!(Operator::StartsWith.pattern("ab"), "ab%");
        assert_eq!(Operator::EndsWith.pattern("ab"), "%ab");
    }

    #[test]
    fn operators_parse_better_auth_names_only() {
        for name in [
            "eq",
            "ne",
            "lt",
            "lte",
            "gt",
            "gte",
            "contains",
            "starts_with",
            "ends_with",
        ] {
            assert!(Operator::parse(name).is_some(), "{name}");
        }
        assert_eq!(Operator::parse("like"), None);
        assert_eq!(Operator::parse("EQ"), None);
    }

    #[test]
    fn dates_serialise_like_better_auth() {
        let user = UserRecord {
            id: "u".into(),
            name: "n".into(),
            email: "e".into(),
            email_verified: true,
            image: None,
            created_at: "2026-11-22T22:58:29.697Z".parse().ok(),
            updated_at: None,
            role: None,
            banned: None,
            ban_reason: None,
            ban_expires: None,
        };
        let json = serde_json::to_value(&user).expect("json");
        assert_eq!(json["createdAt"], "2026-11-22T22:58:29.697Z");
        assert_eq!(json["emailVerified"], true);
        assert!(json["updatedAt"].is_null());
    }
}
