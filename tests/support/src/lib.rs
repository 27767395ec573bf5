//! What a test needs: a real PostgreSQL, a fresh Better Auth schema of its own, and helpers to
//! put users and sessions in it. Each [`TestDb`] is a new PostgreSQL schema (namespace) reached
//! through a URL whose `search_path` points at it, and dropped when the `TestDb` is dropped:
//! tests are isolated and run in parallel.
//!
//! Where the schema lives depends on who reads the catalogue. Our own code reads one schema
//! (`current_schema()`), so most tests share one database ([`TEST_DATABASE`]) and each gets a
//! schema in it, which is cheap. A Better Auth server is different: its migrator introspects the
//! tables of *every* schema in its database and then reads their columns, so a sibling test
//! dropping its schema between those two steps crashed the server at start-up ("schema … does
//! not exist", seen with Better Auth 1.6). A schema for a Better Auth server ([`TestDb::isolated`])
//! therefore lives in a database of its own, which no other test touches: the race cannot
//! happen, whatever the timing. [`crate::better_auth::BetterAuthServer::start`] refuses any other.
//!
//! The server comes from `DATABASE_URL`, else `postgres://postgres@127.0.0.1:5432/postgres`.
//! `make test` (scripts/with-postgres.sh) starts a throwaway cluster when neither answers.

pub mod aws;
pub mod better_auth;
pub mod cluster;
pub mod dpop;
pub mod emf;
pub mod events;
pub mod http;
pub mod jws;
pub mod logs;
pub mod otlp;
pub mod pgbouncer;
pub mod proxy;
pub mod redis;
pub mod runtime_api;

use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use rand::Rng;
use rand::distr::Alphanumeric;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls};

/// The database (on the test server) that holds one schema per test.
pub const TEST_DATABASE: &str = "better_auth_lambda_test";

/// A Better Auth schema layout to test against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// Better Auth 1.7's own migrator, admin plugin on (camelCase, timestamptz).
    Default,
    /// Better Auth 1.7's own migrator without the admin plugin.
    NoAdmin,
    /// `users` / `user_sessions`, snake_case columns, uuid ids.
    RenamedSnakeUuid,
    /// Drizzle's generator: snake_case, `timestamp` without time zone.
    DrizzleNaive,
    /// Prisma's generator: camelCase, `timestamp(3)` without time zone.
    PrismaNaive,
    /// `user_sessions` with a `revoked` boolean, no admin plugin.
    RevokedColumn,
}

impl Variant {
    /// Every variant.
    pub const ALL: [Variant; 6] = [
        Self::Default,
        Self::NoAdmin,
        Self::RenamedSnakeUuid,
        Self::DrizzleNaive,
        Self::PrismaNaive,
        Self::RevokedColumn,
    ];

    /// The DDL.
    pub fn sql(self) -> &'static str {
        match self {
            Self::Default => include_str!("../../sql/better-auth-1.7-admin.sql"),
            Self::NoAdmin => include_str!("../../sql/better-auth-1.7-core.sql"),
            Self::RenamedSnakeUuid => include_str!("../../sql/renamed-snake-uuid.sql"),
            Self::DrizzleNaive => include_str!("../../sql/drizzle-naive.sql"),
            Self::PrismaNaive => include_str!("../../sql/prisma-naive.sql"),
            Self::RevokedColumn => include_str!("../../sql/revoked-column.sql"),
        }
    }

    /// The user table.
    pub fn user_table(self) -> &'static str {
        match self {
            Self::RenamedSnakeUuid => "users",
            _ => "user",
        }
    }

    /// The session table.
    pub fn session_table(self) -> &'static str {
        match self {
            Self::RenamedSnakeUuid | Self::RevokedColumn => "user_sessions",
            _ => "session",
        }
    }

    /// Whether the admin plugin's columns exist.
    pub fn has_admin(self) -> bool {
        !matches!(self, Self::NoAdmin | Self::RevokedColumn)
    }

    /// Whether the session table has a `revoked` column.
    pub fn has_revoked(self) -> bool {
        self == Self::RevokedColumn
    }

    fn snake(self) -> bool {
        matches!(self, Self::RenamedSnakeUuid | Self::DrizzleNaive)
    }

    fn naive(self) -> bool {
        matches!(self, Self::DrizzleNaive | Self::PrismaNaive)
    }

    fn id_type(self) -> &'static str {
        match self {
            Self::RenamedSnakeUuid => "uuid",
            _ => "text",
        }
    }

    /// The quoted column for a Better Auth field name in this variant.
    pub fn col(self, field: &str) -> String {
        if self.snake() {
            let mut out = String::new();
            for ch in field.chars() {
                if ch.is_ascii_uppercase() {
                    out.push('_');
                    out.push(ch.to_ascii_lowercase());
                } else {
                    out.push(ch);
                }
            }
            format!("\"{out}\"")
        } else {
            format!("\"{field}\"")
        }
    }

    /// A SQL expression for a timestamptz parameter `$n`, converted for naive columns.
    pub fn ts(self, n: usize) -> String {
        if self.naive() {
            format!("(${n}::timestamptz AT TIME ZONE 'UTC')")
        } else {
            format!("${n}::timestamptz")
        }
    }

    fn id(self, n: usize) -> String {
        format!("CAST(${n}::text AS {})", self.id_type())
    }

    /// A fresh id of the variant's kind.
    pub fn new_id(self) -> String {
        if self.id_type() == "uuid" {
            let mut rng = rand::rng();
            let b: [u8; 16] = rng.random();
            format!(
                "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
                u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
                u16::from_be_bytes([b[4], b[5]]),
                u16::from_be_bytes([b[6], b[7]]) & 0x0fff,
                u16::from_be_bytes([b[8], b[9]]) & 0x0fff,
                u64::from_be_bytes([0, 0, b[10], b[11], b[12], b[13], b[14], b[15]])
            )
        } else {
            random_token(32)
        }
    }
}

/// 32 characters of `[A-Za-z0-9]`, like Better Auth's `generateId(32)`.
pub fn random_token(len: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// The URL of the test server's maintenance database.
pub fn server_url() -> String {
    std::env::var("DATABASE_URL")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// `url` with its database name replaced by `database`.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let base = match base.rfind('/') {
        Some(i) if i > "postgres://".len() && !base[..i].ends_with('/') => &base[..i],
        _ => base,
    };
    match query {
        Some(q) => format!("{base}/{database}?{q}"),
        None => format!("{base}/{database}"),
    }
}

fn with_search_path(url: &str, schema: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-c%20search_path%3D{schema}")
}

async fn connect(url: &str) -> Client {
    let (client, connection) = match tokio_postgres::connect(url, NoTls).await {
        Ok(pair) => pair,
        Err(e) => panic!(
            "cannot reach the test PostgreSQL ({e}). Run the tests with `make test`, which finds \
             or starts a server, or set DATABASE_URL to a server where this user may create a database."
        ),
    };
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

static DATABASE_READY: OnceLock<()> = OnceLock::new();

async fn ensure_test_database() {
    if DATABASE_READY.get().is_some() {
        return;
    }
    let admin = connect(&server_url()).await;
    let exists = admin
        .query_opt(
            "SELECT 1 FROM pg_database WHERE datname = $1",
            &[&TEST_DATABASE],
        )
        .await
        .expect("query pg_database")
        .is_some();
    if !exists
        && let Err(e) = admin
            .batch_execute(&format!("CREATE DATABASE \"{TEST_DATABASE}\""))
            .await
    {
        // Another test process created it first: fine.
        let code = e.as_db_error().map(|d| d.code().code().to_owned());
        assert!(
            matches!(code.as_deref(), Some("42P04") | Some("23505")),
            "cannot create the test database: {e}"
        );
    }
    let _ = DATABASE_READY.set(());
}

/// A fresh Better Auth schema for one test; dropped with it.
pub struct TestDb {
    /// The variant it holds.
    pub variant: Variant,
    /// The PostgreSQL schema's name.
    pub schema: String,
    /// A URL whose connections see only this schema (`search_path`).
    pub url: String,
    /// The URL of the database holding the schema, without the `search_path` option.
    pub database_url: String,
    /// A connection to it.
    pub client: Client,
    /// The database this test owns alone (dropped with it), or `None` in the shared one.
    own_database: Option<String>,
}

impl TestDb {
    /// Creates a schema holding `variant`'s tables, in the shared test database.
    pub async fn new(variant: Variant) -> Self {
        ensure_test_database().await;
        Self::create(variant, variant.sql(), TEST_DATABASE, None).await
    }

    /// Creates a schema in a database of its own, for a Better Auth server to migrate: empty
    /// (Better Auth's migrator creates the tables) or holding `ddl` first. See the module docs
    /// for why a server never shares its database with other tests.
    pub async fn isolated(variant: Variant, ddl: &str) -> Self {
        let name = format!("t_{}", random_token(16).to_ascii_lowercase());
        let admin = connect(&server_url()).await;
        // template0: a CREATE DATABASE from template1 fails while anything is connected to it.
        if let Err(e) = admin
            .batch_execute(&format!(
                "CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8'"
            ))
            .await
        {
            panic!("cannot create a database for the Better Auth server: {e}");
        }
        Self::create(variant, ddl, &name, Some(name.clone())).await
    }

    /// Whether the schema lives in a database no other test uses.
    pub fn is_isolated(&self) -> bool {
        self.own_database.is_some()
    }

    async fn create(
        variant: Variant,
        ddl: &str,
        database: &str,
        own_database: Option<String>,
    ) -> Self {
        let schema = format!("t_{}", random_token(16).to_ascii_lowercase());
        let database_url = with_database(&server_url(), database);
        let url = with_search_path(&database_url, &schema);
        let client = connect(&database_url).await;
        client
            .batch_execute(&format!(
                "CREATE SCHEMA \"{schema}\"; SET search_path TO \"{schema}\"; {ddl}"
            ))
            .await
            .expect("create the Better Auth schema");
        Self {
            variant,
            schema,
            url,
            database_url,
            client,
            own_database,
        }
    }

    /// Runs a statement (with `search_path` on this schema).
    pub async fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> u64 {
        match self.client.execute(sql, params).await {
            Ok(n) => n,
            Err(e) => panic!("{sql}: {e} {:?}", e.as_db_error().map(|d| d.message())),
        }
    }

    /// Counts a table's rows.
    pub async fn count(&self, table: &str) -> i64 {
        self.client
            .query_one(&format!("SELECT count(*) FROM \"{table}\""), &[])
            .await
            .expect("count")
            .get(0)
    }

    /// Inserts a user and returns its id.
    pub async fn create_user(&self, user: &NewUser) -> String {
        let v = self.variant;
        let id = v.new_id();
        let now = Utc::now();
        let mut columns = vec![
            v.col("id"),
            v.col("name"),
            v.col("email"),
            v.col("emailVerified"),
            v.col("createdAt"),
            v.col("updatedAt"),
        ];
        let mut values = vec![
            v.id(1),
            "$2".into(),
            "$3".into(),
            "$4".into(),
            v.ts(5),
            v.ts(5),
        ];
        let mut params: Vec<&(dyn ToSql + Sync)> =
            vec![&id, &user.name, &user.email, &user.email_verified, &now];
        if v.has_admin() {
            columns.extend([v.col("role"), v.col("banned"), v.col("banExpires")]);
            values.extend(["$6".into(), "$7".into(), v.ts(8)]);
            params.extend([
                &user.role as &(dyn ToSql + Sync),
                &user.banned,
                &user.ban_expires,
            ]);
        }
        let sql = format!(
            "INSERT INTO \"{}\" ({}) VALUES ({})",
            v.user_table(),
            columns.join(", "),
            values.join(", ")
        );
        self.execute(&sql, &params).await;
        id
    }

    /// Inserts a session for `user_id` expiring at `expires_at`.
    pub async fn create_session(&self, user_id: &str, expires_at: DateTime<Utc>) -> NewSession {
        let v = self.variant;
        let id = v.new_id();
        let token = random_token(32);
        let now = Utc::now();
        let sql = format!(
            "INSERT INTO \"{}\" ({}, {}, {}, {}, {}, {}, {}, {}) VALUES ({}, $2, {}, {}, {}, {}, '', 'test')",
            v.session_table(),
            v.col("id"),
            v.col("token"),
            v.col("userId"),
            v.col("expiresAt"),
            v.col("createdAt"),
            v.col("updatedAt"),
            v.col("ipAddress"),
            v.col("userAgent"),
            v.id(1),
            v.id(3),
            v.ts(4),
            v.ts(5),
            v.ts(5),
        );
        self.execute(&sql, &[&id, &token, &user_id, &expires_at, &now])
            .await;
        NewSession { id, token }
    }

    /// Marks a session as opened by `admin_id` impersonating its user (admin plugin).
    pub async fn impersonate(&self, session_id: &str, admin_id: &str) {
        let v = self.variant;
        let sql = format!(
            "UPDATE \"{}\" SET {} = $2 WHERE {}::text = $1",
            v.session_table(),
            v.col("impersonatedBy"),
            v.col("id"),
        );
        assert_eq!(self.execute(&sql, &[&session_id, &admin_id]).await, 1);
    }

    /// Sets a user's `banned` flag directly in SQL (no session is touched).
    pub async fn set_banned(&self, user_id: &str, banned: bool) {
        let v = self.variant;
        let sql = format!(
            "UPDATE \"{}\" SET {} = $2 WHERE {}::text = $1",
            v.user_table(),
            v.col("banned"),
            v.col("id"),
        );
        assert_eq!(self.execute(&sql, &[&user_id, &banned]).await, 1);
    }

    /// How many sessions `user_id` has (any state).
    pub async fn sessions_of(&self, user_id: &str) -> i64 {
        let v = self.variant;
        let sql = format!(
            "SELECT count(*) FROM \"{}\" WHERE {}::text = $1",
            v.session_table(),
            v.col("userId"),
        );
        let row = self
            .client
            .query_one(&sql, &[&user_id])
            .await
            .expect("count sessions");
        row.get(0)
    }

    /// A user with a live session, the common case.
    pub async fn user_with_session(&self) -> (String, NewSession) {
        let user = self.create_user(&NewUser::new("someone@example.com")).await;
        let session = self
            .create_session(&user, Utc::now() + chrono::Duration::days(7))
            .await;
        (user, session)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let (url, statement) = match &self.own_database {
            // FORCE: the Better Auth server's pool may not have closed its connections yet.
            Some(name) => (
                server_url(),
                format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
            ),
            None => (
                with_database(&server_url(), TEST_DATABASE),
                format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.schema),
            ),
        };
        // Async drop does not exist: tear down on a thread with its own small runtime.
        let handle = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                if let Ok((client, connection)) = tokio_postgres::connect(&url, NoTls).await {
                    tokio::spawn(connection);
                    let _ = client.batch_execute(&statement).await;
                }
            });
        });
        let _ = handle.join();
    }
}

/// A user to insert.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Email.
    pub email: String,
    /// Name.
    pub name: String,
    /// emailVerified.
    pub email_verified: bool,
    /// role (admin plugin).
    pub role: Option<String>,
    /// banned (admin plugin).
    pub banned: Option<bool>,
    /// banExpires (admin plugin).
    pub ban_expires: Option<DateTime<Utc>>,
}

impl NewUser {
    /// A verified user with role `user`.
    pub fn new(email: &str) -> Self {
        Self {
            email: email.to_owned(),
            name: "Test User".to_owned(),
            email_verified: true,
            role: Some("user".to_owned()),
            banned: None,
            ban_expires: None,
        }
    }
}

/// An inserted session.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// session.id
    pub id: String,
    /// session.token
    pub token: String,
}

/// The session cookie Better Auth sets for `token` under `secret` (default cookie prefix).
pub fn session_cookie(secret: &str, token: &str) -> String {
    format!(
        "better-auth.session_token={}",
        auth_core::signing::sign_cookie_value(&auth_core::signing::Secret::new(secret), token)
    )
}

/// Authenticates a request that carries only the session cookie of `token`.
pub async fn authenticate_cookie(
    auth: &auth_core::Authenticator,
    secret: &str,
    token: &str,
) -> Result<auth_core::Authenticated, auth_core::AuthError> {
    let cookie = session_cookie(secret, token);
    auth.authenticate(&auth_core::RawCredentials {
        authorization: vec![],
        cookies: vec![&cookie],
        api_keys: vec![],
        ..Default::default()
    })
    .await
}

/// A validator on `database_url` with `secret` and extra settings (later pairs win).
pub fn authenticator(
    database_url: &str,
    secret: &str,
    extra: &[(&str, &str)],
) -> auth_core::Authenticator {
    let mut vars: Vec<(String, String)> = vec![
        ("DATABASE_URL".into(), database_url.into()),
        ("BETTER_AUTH_SECRET".into(), secret.into()),
    ];
    vars.extend(extra.iter().map(|(k, v)| ((*k).into(), (*v).into())));
    let config = auth_core::Config::from_lookup(|k| {
        vars.iter()
            .rev()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
    })
    .expect("valid test configuration");
    auth_core::Authenticator::new(&config).expect("authenticator")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_rewritten() {
        assert_eq!(
            with_database("postgres://u@h:1/postgres?sslmode=disable", "x"),
            "postgres://u@h:1/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h:1", "x"), "postgres://u@h:1/x");
        assert_eq!(
            with_search_path("postgres://u@h/x", "s"),
            "postgres://u@h/x?options=-c%20search_path%3Ds"
        );
    }
}
