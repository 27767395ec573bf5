//! The benchmark's database: Better Auth 1.7's schema (its own migrator's DDL, admin plugin on)
//! with 100k users and 200k live sessions, rebuilt on every run.

use tokio_postgres::{Client, NoTls};

/// The database the benchmark (re)creates on the server.
pub const DATABASE: &str = "better_auth_bench";

const SCHEMA: &str = include_str!("../../tests/sql/better-auth-1.7-admin.sql");

/// How much to seed.
#[derive(Debug, Clone, Copy)]
pub struct Size {
    /// Users.
    pub users: i64,
    /// Sessions (spread evenly over the users).
    pub sessions: i64,
}

/// Connects, or says clearly which server did not answer.
pub async fn connect(url: &str) -> Result<Client, String> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.map_err(|e| {
        format!("cannot connect to PostgreSQL ({e}); run `make bench`, which finds or starts one")
    })?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// Drops and recreates [`DATABASE`] on the server of `server_url`, seeds it, and returns its URL.
pub async fn rebuild(server_url: &str, size: Size) -> Result<String, String> {
    let admin = connect(server_url).await?;
    for statement in [
        format!("DROP DATABASE IF EXISTS \"{DATABASE}\" WITH (FORCE)"),
        format!("CREATE DATABASE \"{DATABASE}\""),
    ] {
        admin
            .batch_execute(&statement)
            .await
            .map_err(|e| format!("cannot create the benchmark database: {}", describe(&e)))?;
    }
    let url = test_support::with_database(server_url, DATABASE);
    let db = connect(&url).await?;
    db.batch_execute(SCHEMA)
        .await
        .map_err(|e| format!("schema: {}", describe(&e)))?;
    let seed = format!(
        "INSERT INTO \"user\" (id, name, email, \"emailVerified\", \"createdAt\", \"updatedAt\", role, banned)
           SELECT 'user-' || i, 'User ' || i, 'user' || i || '@bench.example', true, now(), now(), 'user', false
           FROM generate_series(1, {users}) i;
         INSERT INTO session (id, token, \"userId\", \"expiresAt\", \"createdAt\", \"updatedAt\", \"ipAddress\", \"userAgent\")
           SELECT 'session-' || i, md5('token-' || i), 'user-' || (1 + (i - 1) % {users}),
                  now() + interval '7 days', now(), now(), '127.0.0.1', 'bench'
           FROM generate_series(1, {sessions}) i;",
        users = size.users,
        sessions = size.sessions,
    );
    db.batch_execute(&seed)
        .await
        .map_err(|e| format!("seeding: {}", describe(&e)))?;
    db.batch_execute("VACUUM ANALYZE")
        .await
        .map_err(|e| format!("vacuum: {}", describe(&e)))?;
    Ok(url)
}

/// `n` random live sessions: (token, user id).
pub async fn sample_sessions(url: &str, n: i64) -> Result<Vec<(String, String)>, String> {
    let db = connect(url).await?;
    let rows = db
        .query(
            "SELECT token, \"userId\" FROM session ORDER BY random() LIMIT $1",
            &[&n],
        )
        .await
        .map_err(|e| format!("sampling sessions: {e}"))?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Stores the public half of an Ed25519 key in the jwt plugin's `jwks` table, as Better Auth does.
pub async fn store_jwk(url: &str, kid: &str, public_jwk: &str) -> Result<(), String> {
    let db = connect(url).await?;
    db.execute(
        "INSERT INTO jwks (id, \"publicKey\", \"privateKey\", \"createdAt\", alg, crv) VALUES ($1, $2, 'unused', now(), 'EdDSA', 'Ed25519')",
        &[&kid, &public_jwk],
    )
    .await
    .map_err(|e| format!("jwks: {e}"))?;
    Ok(())
}

/// PostgreSQL's version string.
pub async fn server_version(url: &str) -> Result<String, String> {
    let db = connect(url).await?;
    let row = db
        .query_one("SHOW server_version", &[])
        .await
        .map_err(|e| e.to_string())?;
    Ok(row.get(0))
}

/// The server's message, not just "db error".
pub fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}
