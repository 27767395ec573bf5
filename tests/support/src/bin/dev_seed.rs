//! `make dev`'s seeding step: creates the `better_auth_dev` database on the server named by
//! `DATABASE_URL`, applies Better Auth's schema when missing, (re)creates a demo admin and a demo
//! user with live sessions, writes `target/dev/env` for `cargo lambda watch`, and prints curl
//! commands that work as printed. With `DEV_SESSIONS=redis` (`make dev-redis`) the sessions
//! are kept in the Redis at `REDIS_URL` as Better Auth's `secondaryStorage` keeps them (prefix
//! `better-auth:`), and the functions are configured to read them there.
//!
//! `DEV_DATABASE` (default `better_auth_dev`), `DEV_DIR` (default `target/dev`, relative to the
//! repository root) and `DEV_PORT` (default 9000, where `scripts/dev.sh` starts the watcher) let
//! `scripts/check-dev.sh` run all of it beside a developer's own `make dev`.

use auth_core::signing::{Secret, sign_cookie_value};
use chrono::{Duration, Utc};
use tokio_postgres::NoTls;

const DEFAULT_DATABASE: &str = "better_auth_dev";
const DEFAULT_DIR: &str = "target/dev";
const DEFAULT_PORT: u16 = 9000;
const SECRET: &str = "dev-only-secret-change-me-0123456789abcdef";
const SCHEMA: &str = include_str!("../../../sql/better-auth-1.7-admin.sql");

async fn connect(url: &str) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let setting = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let database = setting("DEV_DATABASE").unwrap_or_else(|| DEFAULT_DATABASE.to_owned());
    if !database
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(format!("DEV_DATABASE={database}: expected [a-z0-9_]+").into());
    }
    let dev_dir = setting("DEV_DIR").unwrap_or_else(|| DEFAULT_DIR.to_owned());
    let port = match setting("DEV_PORT") {
        Some(port) => port
            .parse::<u16>()
            .map_err(|_| format!("DEV_PORT={port}: expected a port number"))?,
        None => DEFAULT_PORT,
    };
    let server = test_support::server_url();
    let admin = connect(&server).await?;
    let exists = admin
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&database])
        .await?
        .is_some();
    if !exists {
        admin
            .batch_execute(&format!("CREATE DATABASE \"{database}\""))
            .await?;
    }
    let url = test_support::with_database(&server, &database);
    let db = connect(&url).await?;
    let has_schema = db
        .query_opt("SELECT 1 FROM information_schema.tables WHERE table_name = 'session' AND table_schema = current_schema()", &[])
        .await?
        .is_some();
    if !has_schema {
        db.batch_execute(SCHEMA).await?;
    }
    let now = Utc::now();
    let redis_url = match std::env::var("DEV_SESSIONS").as_deref() {
        Ok("redis") => Some(std::env::var("REDIS_URL")?),
        Ok("database") | Err(_) => None,
        Ok(other) => return Err(format!("DEV_SESSIONS={other}: expected redis or database").into()),
    };
    let mut redis = match &redis_url {
        Some(url) => Some(
            redis::Client::open(url.as_str())?
                .get_multiplexed_async_connection()
                .await?,
        ),
        None => None,
    };
    let mut tokens = Vec::new();
    for (id, email, name, role) in [
        ("demo-admin", "admin@example.com", "Demo Admin", "admin"),
        ("demo-user", "user@example.com", "Demo User", "user"),
    ] {
        db.execute(
            "INSERT INTO \"user\" (id, name, email, \"emailVerified\", \"createdAt\", \"updatedAt\", role, banned)
             VALUES ($1, $2, $3, true, $4, $4, $5, false)
             ON CONFLICT (id) DO UPDATE SET role = EXCLUDED.role, banned = false, \"banExpires\" = NULL",
            &[&id, &name, &email, &now, &role],
        )
        .await?;
        db.execute("DELETE FROM session WHERE \"userId\" = $1", &[&id])
            .await?;
        let token = test_support::random_token(32);
        let expires = now + Duration::days(7);
        match redis.as_mut() {
            None => {
                db.execute(
                    "INSERT INTO session (id, token, \"userId\", \"expiresAt\", \"createdAt\", \"updatedAt\", \"ipAddress\", \"userAgent\")
                     VALUES ($1, $2, $3, $4, $5, $5, '127.0.0.1', 'make dev')",
                    &[&format!("{id}-session"), &token, &id, &expires, &now],
                )
                .await?;
            }
            Some(redis) => {
                // As Better Auth's createSession writes it: the value and the user's list.
                let value = serde_json::json!({
                    "session": {"id": format!("{id}-session"), "token": token, "userId": id,
                                "expiresAt": expires, "createdAt": now, "updatedAt": now,
                                "ipAddress": "127.0.0.1", "userAgent": "make dev"},
                    "user": {"id": id, "name": name, "email": email, "emailVerified": true,
                             "createdAt": now, "updatedAt": now, "role": role,
                             "banned": false, "banReason": null, "banExpires": null},
                });
                let list =
                    serde_json::json!([{"token": token, "expiresAt": expires.timestamp_millis()}]);
                let ttl = Duration::days(7).num_seconds() as u64;
                redis::pipe()
                    .cmd("SET")
                    .arg(format!("better-auth:{token}"))
                    .arg(value.to_string())
                    .arg("EX")
                    .arg(ttl)
                    .ignore()
                    .cmd("SET")
                    .arg(format!("better-auth:active-sessions-{id}"))
                    .arg(list.to_string())
                    .arg("EX")
                    .arg(ttl)
                    .ignore()
                    .cmd("DEL")
                    .arg(format!("better-auth:revoked-sessions-before-{id}"))
                    .ignore()
                    .query_async::<()>(redis)
                    .await?;
            }
        }
        tokens.push(token);
    }
    let env_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(&dev_dir);
    std::fs::create_dir_all(&env_dir)?;
    // The example function (examples/orders) verifies in place: no authorizer runs under watch.
    let mut env = format!(
        "DATABASE_URL={url}\nBETTER_AUTH_SECRET={SECRET}\nAUTH_VERIFY_WITHOUT_AUTHORIZER=true\n"
    );
    if let Some(redis_url) = &redis_url {
        env.push_str(&format!("BETTER_AUTH_SECONDARY_STORAGE_URL={redis_url}\n"));
    }
    std::fs::write(env_dir.join("env"), env)?;

    let secret = Secret::new(SECRET);
    let admin_cookie = format!(
        "better-auth.session_token={}",
        sign_cookie_value(&secret, &tokens[0])
    );
    let user_bearer = &tokens[1];
    let api = format!("http://127.0.0.1:{port}");
    // The authorizer's event fixtures, filled in with the demo credentials: ready to invoke.
    let signed_admin = sign_cookie_value(&secret, &tokens[0]);
    let mut invocations = String::new();
    for (name, fixture) in [
        (
            "rest-token.json",
            include_str!("../../../../events/rest-token.json"),
        ),
        (
            "rest-request.json",
            include_str!("../../../../events/rest-request.json"),
        ),
        (
            "http-v2.json",
            include_str!("../../../../events/http-v2.json"),
        ),
    ] {
        let filled = fixture
            .replace("REPLACE_WITH_TOKEN", user_bearer)
            .replace("REPLACE_WITH_COOKIE", &signed_admin);
        let path = env_dir.join(name);
        std::fs::write(&path, filled)?;
        invocations.push_str(&format!(
            // `cargo lambda invoke` sends to [::1] unless told; the watcher listens on 127.0.0.1.
            "  cargo lambda invoke authorizer --invoke-address 127.0.0.1 --invoke-port {port} --data-file {dev_dir}/{name}\n"
        ));
    }
    let where_ = match &redis_url {
        Some(_) => " kept in Redis (secondary storage, prefix better-auth:)",
        None => "",
    };
    println!(
        "\nSeeded {database}: admin@example.com (admin) and user@example.com (user), each with a 7-day session{where_}.

Once `cargo lambda watch` below says it is serving, in another terminal:

  # open
  curl -s {api}/health
  curl -s {api}/health/db
  # the demo user, by bearer token
  curl -s -H 'Authorization: Bearer {user_bearer}' {api}/auth/me
  curl -s -H 'Authorization: Bearer {user_bearer}' {api}/auth/session
  # the demo admin, by signed session cookie
  curl -s --cookie '{admin_cookie}' '{api}/users?limit=10'
  curl -s --cookie '{admin_cookie}' {api}/users/demo-user/sessions
  # refused: a user is not an admin (403), a forged token (401)
  curl -s -H 'Authorization: Bearer {user_bearer}' {api}/users
  curl -s -H 'Authorization: Bearer forged0000000000000000000000000000' {api}/auth/me
  # your own function (examples/orders, axum + auth-caller): the caller, then a permission the
  # demo user's role lacks (403: Better Auth's default `user` role has no `order` statements)
  curl -s -H 'Authorization: Bearer {user_bearer}' {api}/profile
  curl -s -H 'Authorization: Bearer {user_bearer}' {api}/orders

The authorizer, invoked with each event shape (REST TOKEN with the user's bearer token, REST
REQUEST and HTTP API 2.0 with the admin's cookie):
{invocations}"
    );
    Ok(())
}
