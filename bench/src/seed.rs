//! The benchmark's database: Better Auth 1.7's schema (its own migrator's DDL, admin plugin on)
//! with 100k users and 200k live sessions, rebuilt on every run.

use tokio_postgres::{Client, NoTls};

/// The database the benchmark (re)creates on the server.
pub const DATABASE: &str = "better_auth_bench";

const SCHEMA: &str = include_str!("../../tests/sql/better-auth-1.7-admin.sql");

/// The database of the organization rows: the same schema plus the organization plugin's
/// tables (dynamic access control on), so its session statement joins the membership.
pub const ORG_DATABASE: &str = "better_auth_bench_org";

/// What Better Auth 1.7's migrator adds for the organization plugin with
/// `dynamicAccessControl` (teams off).
const ORGANIZATION_DDL: &str = r#"
alter table "session" add column "activeOrganizationId" text;
create table "organization" ("id" text not null primary key, "name" text not null, "slug" text not null unique, "logo" text, "createdAt" timestamptz not null, "metadata" text);
create table "member" ("id" text not null primary key, "organizationId" text not null references "organization" ("id") on delete cascade, "userId" text not null references "user" ("id") on delete cascade, "role" text not null, "createdAt" timestamptz not null);
create index "member_organizationId_idx" on "member" ("organizationId");
create index "member_userId_idx" on "member" ("userId");
create table "organizationRole" ("id" text not null primary key, "organizationId" text not null references "organization" ("id") on delete cascade, "role" text not null, "permission" text not null, "createdAt" timestamptz default CURRENT_TIMESTAMP not null, "updatedAt" timestamptz);
create index "organizationRole_organizationId_idx" on "organizationRole" ("organizationId");
"#;

/// Rebuilds [`ORG_DATABASE`]: `users` users, one live session each, 100 organizations, every
/// user a member (`member,billing`) of one whose session points at it, and each organization
/// a dynamic `billing` role granting `invoice:create`.
pub async fn rebuild_organizations(server_url: &str, users: i64) -> Result<String, String> {
    let admin = connect(server_url).await?;
    for statement in [
        format!("DROP DATABASE IF EXISTS \"{ORG_DATABASE}\" WITH (FORCE)"),
        format!("CREATE DATABASE \"{ORG_DATABASE}\""),
    ] {
        admin
            .batch_execute(&statement)
            .await
            .map_err(|e| format!("cannot create the organization database: {}", describe(&e)))?;
    }
    let url = test_support::with_database(server_url, ORG_DATABASE);
    let db = connect(&url).await?;
    let seed = format!(
        "INSERT INTO organization (id, name, slug, \"createdAt\")
           SELECT 'org-' || o, 'Org ' || o, 'org-' || o, now() FROM generate_series(1, 100) o;
         INSERT INTO \"organizationRole\" (id, \"organizationId\", role, permission)
           SELECT 'role-' || o, 'org-' || o, 'billing', '{{\"invoice\":[\"create\"]}}'
           FROM generate_series(1, 100) o;
         INSERT INTO \"user\" (id, name, email, \"emailVerified\", \"createdAt\", \"updatedAt\", role, banned)
           SELECT 'user-' || i, 'User ' || i, 'user' || i || '@bench.example', true, now(), now(), 'user', false
           FROM generate_series(1, {users}) i;
         INSERT INTO member (id, \"organizationId\", \"userId\", role, \"createdAt\")
           SELECT 'member-' || i, 'org-' || (1 + i % 100), 'user-' || i, 'member,billing', now()
           FROM generate_series(1, {users}) i;
         INSERT INTO session (id, token, \"userId\", \"expiresAt\", \"createdAt\", \"updatedAt\", \"activeOrganizationId\")
           SELECT 'session-' || i, md5('org-token-' || i), 'user-' || i, now() + interval '7 days',
                  now(), now(), 'org-' || (1 + i % 100)
           FROM generate_series(1, {users}) i;"
    );
    for (what, sql) in [
        ("schema", SCHEMA),
        ("organizations", ORGANIZATION_DDL),
        ("seeding", seed.as_str()),
        ("vacuum", "VACUUM ANALYZE"),
    ] {
        db.batch_execute(sql)
            .await
            .map_err(|e| format!("{what}: {}", describe(&e)))?;
    }
    Ok(url)
}

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
        "INSERT INTO jwks (id, \"publicKey\", \"privateKey\", \"createdAt\", alg, crv) VALUES ($1, $2, 'unused', now(), 'EdDSA', 'Ed25519')
         ON CONFLICT (id) DO UPDATE SET \"publicKey\" = EXCLUDED.\"publicKey\"",
        &[&kid, &public_jwk],
    )
    .await
    .map_err(|e| format!("jwks: {e}"))?;
    Ok(())
}

/// One API key per `(key, user)` pair, stored as the api-key plugin stores it (the hash, no
/// quota, rate limiting off: every use is still one guarded write stamping `lastRequest`).
pub async fn store_api_keys(url: &str, keys: &[(String, String)]) -> Result<(), String> {
    let db = connect(url).await?;
    let ids: Vec<String> = (0..keys.len()).map(|i| format!("bench-key-{i}")).collect();
    let hashes: Vec<String> = keys
        .iter()
        .map(|(key, _)| auth_core::methods::api_key::hash_key(key))
        .collect();
    let owners: Vec<String> = keys.iter().map(|(_, user)| user.clone()).collect();
    db.execute(
        "INSERT INTO apikey (id, \"configId\", name, start, \"referenceId\", key, enabled, \"rateLimitEnabled\", \"requestCount\", \"createdAt\", \"updatedAt\")
         SELECT id, 'default', 'bench', left(id, 6), owner, hash, true, false, 0, now(), now()
         FROM unnest($1::text[], $2::text[], $3::text[]) AS k(id, hash, owner)
         ON CONFLICT (id) DO UPDATE SET key = EXCLUDED.key, \"referenceId\" = EXCLUDED.\"referenceId\"",
        &[&ids, &hashes, &owners],
    )
    .await
    .map_err(|e| format!("apikey: {e}"))?;
    db.batch_execute("ANALYZE apikey")
        .await
        .map_err(|e| format!("analyze: {e}"))?;
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

/// Stores `sessions` in Redis as Better Auth's `secondaryStorage` keeps them (`<prefix><token>`
/// holding `{session, user}`, a TTL to the expiry), for the secondary-storage rows.
pub async fn store_in_redis(
    url: &str,
    prefix: &str,
    sessions: &[(String, String)],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), String> {
    let client = redis::Client::open(url).map_err(|e| e.to_string())?;
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .map_err(|e| format!("no Redis at {url} ({e}); make bench runs scripts/with-redis.sh"))?;
    let expires = now + chrono::Duration::days(7);
    for chunk in sessions.chunks(1000) {
        let mut pipe = redis::pipe();
        for (token, user) in chunk {
            let value = serde_json::json!({
                "session": {"id": format!("s-{token}"), "token": token, "userId": user,
                            "expiresAt": expires, "createdAt": now, "updatedAt": now,
                            "ipAddress": "", "userAgent": "bench"},
                "user": {"id": user, "name": "Bench User", "email": format!("{user}@bench.example"),
                         "emailVerified": true, "createdAt": now, "updatedAt": now,
                         "role": "user", "banned": false, "banExpires": null},
            });
            pipe.cmd("SET")
                .arg(format!("{prefix}{token}"))
                .arg(value.to_string())
                .arg("EX")
                .arg(7 * 24 * 3600)
                .ignore();
        }
        pipe.query_async::<()>(&mut connection)
            .await
            .map_err(|e| format!("seeding Redis: {e}"))?;
    }
    Ok(())
}

/// The Redis server's version (`INFO server`).
pub async fn redis_version(url: &str) -> Result<String, String> {
    let client = redis::Client::open(url).map_err(|e| e.to_string())?;
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .map_err(|e| e.to_string())?;
    let info: String = redis::cmd("INFO")
        .arg("server")
        .query_async(&mut connection)
        .await
        .map_err(|e| e.to_string())?;
    Ok(info
        .lines()
        .find_map(|l| l.strip_prefix("redis_version:"))
        .unwrap_or("?")
        .trim()
        .to_owned())
}

/// Deletes the benchmark's keys (blocking: called on drop).
pub fn clear_redis(url: &str, prefix: &str) {
    let Ok(client) = redis::Client::open(url) else {
        return;
    };
    let Ok(mut connection) = client.get_connection() else {
        return;
    };
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query(&mut connection)
        .unwrap_or_default();
    for chunk in keys.chunks(1000) {
        let _: redis::RedisResult<i64> = redis::cmd("DEL").arg(chunk).query(&mut connection);
    }
}
