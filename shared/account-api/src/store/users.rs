//! Users: read, list, update, roles and bans.

use auth_core::StoreError;
use auth_core::schema::{Kind, ModelField, TableLayout, UserField};
use auth_core::store::postgres::projection::{Projection, Slot};
use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::Row;
use tokio_postgres::types::{ToSql, Type};

use super::query::{Condition, FilterValue, Operator, UserChanges, UserPage, UserQuery};
use super::{AccountError, AccountStore, Param, iso, text};
use auth_core::schema::SessionField;

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

/// The projection of a [`UserRecord`]: writes its columns into a SELECT or RETURNING list and
/// reads them back.
#[derive(Debug, Clone, Copy)]
pub struct UserColumns {
    id: Slot<String>,
    name: Slot<Option<String>>,
    email: Slot<Option<String>>,
    email_verified: Slot<Option<bool>>,
    image: Slot<Option<String>>,
    created_at: Slot<Option<DateTime<Utc>>>,
    updated_at: Slot<Option<DateTime<Utc>>>,
    role: Slot<Option<String>>,
    banned: Slot<Option<bool>>,
    ban_reason: Slot<Option<String>>,
    ban_expires: Slot<Option<DateTime<Utc>>>,
}

impl UserColumns {
    /// Pushes the user's columns (table aliased `alias`).
    pub fn project(p: &mut Projection, users: &TableLayout<UserField>, alias: &str) -> Self {
        Self {
            id: p.field(users, alias, UserField::Id),
            name: p.field(users, alias, UserField::Name),
            email: p.field(users, alias, UserField::Email),
            email_verified: p.field(users, alias, UserField::EmailVerified),
            image: p.field(users, alias, UserField::Image),
            created_at: p.field(users, alias, UserField::CreatedAt),
            updated_at: p.field(users, alias, UserField::UpdatedAt),
            role: p.field(users, alias, UserField::Role),
            banned: p.field(users, alias, UserField::Banned),
            ban_reason: p.field(users, alias, UserField::BanReason),
            ban_expires: p.field(users, alias, UserField::BanExpires),
        }
    }

    /// Reads a user from a row of a statement written with this projection.
    pub fn decode(&self, row: &Row) -> Result<UserRecord, StoreError> {
        Ok(UserRecord {
            id: self.id.read(row)?,
            name: self.name.read(row)?.unwrap_or_default(),
            email: self.email.read(row)?.unwrap_or_default(),
            email_verified: self.email_verified.read(row)?.unwrap_or(false),
            image: self.image.read(row)?,
            created_at: self.created_at.read(row)?,
            updated_at: self.updated_at.read(row)?,
            role: self.role.read(row)?,
            banned: self.banned.read(row)?,
            ban_reason: self.ban_reason.read(row)?,
            ban_expires: self.ban_expires.read(row)?,
        })
    }
}

impl AccountStore<'_> {
    fn users(&self) -> &TableLayout<UserField> {
        &self.layout.user
    }

    /// Whether the admin plugin's columns (`role`, `banned`, …) exist.
    pub fn has_admin_columns(&self) -> bool {
        self.layout.has_admin_columns()
    }

    /// One user by id.
    pub async fn user(&self, id: &str) -> Result<Option<UserRecord>, StoreError> {
        let mut p = Projection::default();
        let user = UserColumns::project(&mut p, self.users(), "u");
        let sql = format!(
            "SELECT {} FROM {} AS u WHERE {}",
            p.list(),
            self.users().sql_name(),
            self.users().eq_param("u", UserField::Id, 1)
        );
        let rows = self.run(&sql, &[text(id)]).await?;
        rows.first().map(|r| user.decode(r)).transpose()
    }

    fn condition_sql(
        &self,
        condition: &Condition,
        n: usize,
    ) -> Result<(String, Param), AccountError> {
        let users = self.users();
        let field = condition.field;
        if !users.has(field) {
            return Err(AccountError::Unsupported(
                "a field this database does not have",
            ));
        }
        let column = users.select("u", field);
        let op = condition.operator;
        let (param, placeholder) = match (&condition.value, field.kind()) {
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
                return Err(AccountError::Unsupported(
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
    pub async fn list_users(&self, query: &UserQuery) -> Result<UserPage, AccountError> {
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
        let users = self.users();
        let order = match query.sort {
            Some((field, descending)) => {
                if !users.has(field) {
                    return Err(AccountError::Unsupported(
                        "a sort field this database does not have",
                    ));
                }
                let dir = if descending { "DESC" } else { "ASC" };
                format!(
                    "{} {dir} NULLS LAST, {}",
                    users.select("u", field),
                    users.col("u", UserField::Id)
                )
            }
            None => users.col("u", UserField::Id),
        };
        let table = users.sql_name();
        let mut p = Projection::default();
        let user = UserColumns::project(&mut p, users, "u");
        let total: Slot<i64> = p.expr("count(*) OVER ()");
        let limit_n = params.len() + 1;
        let sql = format!(
            "SELECT {} FROM {table} AS u{where_sql} ORDER BY {order} LIMIT ${limit_n} OFFSET ${}",
            p.list(),
            limit_n + 1
        );
        let mut page_params = params;
        page_params.push((Box::new(query.limit), Type::INT8));
        page_params.push((Box::new(query.offset), Type::INT8));
        let rows = self.run(&sql, &page_params).await?;
        let found = rows
            .iter()
            .map(|r| user.decode(r))
            .collect::<Result<Vec<_>, _>>()?;
        let total = match rows.first() {
            Some(row) => total.read(row)?,
            None if query.offset == 0 => 0,
            None => {
                page_params.truncate(page_params.len() - 2);
                let mut p = Projection::default();
                let count: Slot<i64> = p.expr("count(*)");
                let count_sql = format!("SELECT {} FROM {table} AS u{where_sql}", p.list());
                let rows = self.run(&count_sql, &page_params).await?;
                rows.first()
                    .map(|r| count.read(r))
                    .transpose()?
                    .unwrap_or(0)
            }
        };
        Ok(UserPage {
            users: found,
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
        let mut p = Projection::default();
        let user = UserColumns::project(&mut p, self.users(), "u");
        let sql = format!(
            "UPDATE {} AS u SET {} WHERE {} RETURNING {}",
            self.users().sql_name(),
            sets.join(", "),
            self.users().eq_param("u", UserField::Id, id_n),
            p.list()
        );
        let rows = self.run(&sql, &params).await?;
        rows.first().map(|r| user.decode(r)).transpose()
    }

    /// `PATCH /users/{id}`. Fails with `StoreError::Conflict` when the email is taken.
    pub async fn update_user(
        &self,
        id: &str,
        changes: &UserChanges,
    ) -> Result<Option<UserRecord>, AccountError> {
        let users = self.users();
        let mut sets = Vec::new();
        let mut params: Vec<Param> = Vec::new();
        if let Some(name) = &changes.name {
            params.push(text(name.clone()));
            sets.extend(users.assign(UserField::Name, &format!("${}", params.len())));
        }
        if let Some(image) = &changes.image {
            if !users.has(UserField::Image) {
                return Err(AccountError::Unsupported(
                    "the user table has no image column",
                ));
            }
            params.push((Box::new(image.clone()), Type::TEXT));
            sets.extend(users.assign(UserField::Image, &format!("${}", params.len())));
        }
        if let Some(email) = &changes.email {
            params.push(text(email.clone()));
            sets.extend(users.assign(UserField::Email, &format!("${}", params.len())));
        }
        if let Some(verified) = changes.email_verified {
            params.push((Box::new(verified), Type::BOOL));
            sets.extend(users.assign(UserField::EmailVerified, &format!("${}", params.len())));
        }
        sets.extend(users.touch(UserField::UpdatedAt));
        let user = self.update_user_sql(id, sets, params).await?;
        self.refreshed(user).await
    }

    /// The updated user, after its sessions in secondary storage got the new snapshot.
    async fn refreshed(
        &self,
        user: Option<UserRecord>,
    ) -> Result<Option<UserRecord>, AccountError> {
        if let Some(user) = &user {
            self.refresh_snapshots(user).await?;
        }
        Ok(user)
    }

    /// `PUT /users/{id}/role`: stores the comma-separated role list. With `demoted` (the new
    /// roles grant no admin power), the sessions the user opened by impersonating someone end in
    /// the same statement (in the session table: secondary storage has no index to find them).
    pub async fn set_role(
        &self,
        id: &str,
        role: &str,
        demoted: bool,
    ) -> Result<Option<UserRecord>, AccountError> {
        let users = self.users();
        let ending = self
            .impersonated_by_changed()
            .filter(|_| demoted && !self.sessions_in_secondary_storage());
        // The role is `$2` next to the id (`$1`) in the combined statement, else `$1`.
        let placeholder = if ending.is_some() { "$2" } else { "$1" };
        let Some(assign) = users.assign(UserField::Role, placeholder) else {
            return Err(AccountError::Unsupported(
                "the admin plugin's role column is missing",
            ));
        };
        let mut sets = vec![assign];
        sets.extend(users.touch(UserField::UpdatedAt));
        Ok(match ending {
            Some(ended) => {
                self.update_and_revoke(&sets, vec![text(id), text(role)], &ended)
                    .await?
            }
            None => {
                let user = self.update_user_sql(id, sets, vec![text(role)]).await?;
                self.refreshed(user).await?
            }
        })
    }

    /// `banned`, `banReason`, `banExpires` and `updatedAt` assignments, or why the table cannot
    /// hold a ban.
    fn ban_assignments(
        &self,
        banned: &str,
        reason: &str,
        expires: &str,
    ) -> Result<Vec<String>, AccountError> {
        let users = self.users();
        let (Some(banned), Some(reason), Some(expires)) = (
            users.assign(UserField::Banned, banned),
            users.assign(UserField::BanReason, reason),
            users.assign(UserField::BanExpires, expires),
        ) else {
            return Err(AccountError::Unsupported(
                "the admin plugin's ban columns are missing",
            ));
        };
        let mut sets = vec![banned, reason, expires];
        sets.extend(users.touch(UserField::UpdatedAt));
        Ok(sets)
    }

    /// One statement: updates the user (`$1` is the id) and revokes the sessions `ended`
    /// selects (a condition on `s` and the updated row `changed.k`); returns the user.
    async fn update_and_revoke(
        &self,
        sets: &[String],
        params: Vec<Param>,
        ended: &str,
    ) -> Result<Option<UserRecord>, AccountError> {
        let users = self.users();
        let mut p = Projection::default();
        let _key: Slot<String> = p.expr(format!("{} AS k", users.col("u", UserField::Id)));
        let user = UserColumns::project(&mut p, users, "u");
        // Sessions in secondary storage alone: a ban or demotion here could not end them.
        let sessions = self.sessions()?;
        let revoke = self
            .layout
            .revocation
            .statement(sessions, Some("changed"), ended);
        let sql = format!(
            "WITH changed AS (UPDATE {} AS u SET {} WHERE {} RETURNING {}), revoked AS ({revoke}) SELECT * FROM changed",
            users.sql_name(),
            sets.join(", "),
            users.eq_param("u", UserField::Id, 1),
            p.list(),
        );
        let rows = self.run(&sql, &params).await?;
        Ok(rows.first().map(|r| user.decode(r)).transpose()?)
    }

    /// Sessions impersonated by the changed user (`changed.k`), when the table records them.
    fn impersonated_by_changed(&self) -> Option<String> {
        let sessions = self.sessions().ok()?;
        sessions.has(SessionField::ImpersonatedBy).then(|| {
            format!(
                "{}::text = changed.k::text",
                sessions.col("s", SessionField::ImpersonatedBy)
            )
        })
    }

    /// `POST /users/{id}/ban`: bans the user and, atomically, revokes all their sessions and
    /// every session they opened by impersonating someone. With secondary storage, as Better
    /// Auth's admin plugin: the user is banned, then every session of theirs revoked there.
    pub async fn ban(
        &self,
        id: &str,
        reason: &str,
        until: Option<DateTime<Utc>>,
    ) -> Result<Option<UserRecord>, AccountError> {
        let users = self.users();
        let expires = users.ts_value(UserField::BanExpires, "$3::timestamptz");
        let sets = self.ban_assignments("true", "$2", &expires)?;
        if self.sessions_in_secondary_storage() {
            let params: Vec<Param> = vec![text(reason), (Box::new(until), Type::TIMESTAMPTZ)];
            let sets = self.ban_assignments(
                "true",
                "$1",
                &users.ts_value(UserField::BanExpires, "$2::timestamptz"),
            )?;
            let user = self.update_user_sql(id, sets, params).await?;
            if let Some(user) = &user {
                self.revoke_sessions(&user.id, None).await?;
            }
            return Ok(user);
        }
        let own = format!(
            "{} = changed.k",
            self.sessions()?.col("s", SessionField::UserId)
        );
        let ended = match self.impersonated_by_changed() {
            Some(impersonations) => format!("({own} OR {impersonations})"),
            None => own,
        };
        let params: Vec<Param> = vec![text(id), text(reason), (Box::new(until), Type::TIMESTAMPTZ)];
        self.update_and_revoke(&sets, params, &ended).await
    }

    /// Whether two ids name the same user, compared as the id column's type compares them
    /// (`A`/`a` and hyphen-less forms of a uuid, `007` and `7` for integers).
    pub async fn same_user(&self, a: &str, b: &str) -> Result<bool, StoreError> {
        let Some(ty) = self.users().column(UserField::Id).and_then(|c| c.cast) else {
            return Ok(a == b);
        };
        let mut p = Projection::default();
        let same: Slot<bool> = p.expr(format!("CAST($1::text AS {ty}) = CAST($2::text AS {ty})"));
        let rows = self
            .run(&format!("SELECT {}", p.list()), &[text(a), text(b)])
            .await?;
        rows.first()
            .map(|r| same.read(r))
            .transpose()
            .map(|s| s.unwrap_or(false))
    }

    /// `DELETE /users/{id}/ban`: clears banned, banReason and banExpires.
    pub async fn unban(&self, id: &str) -> Result<Option<UserRecord>, AccountError> {
        let sets = self.ban_assignments("false", "NULL", "NULL")?;
        let user = self.update_user_sql(id, sets, Vec::new()).await?;
        self.refreshed(user).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
