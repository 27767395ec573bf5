//! Sessions in secondary storage (Redis) against a real Redis: values as Better Auth writes
//! them, bans, garbage, and a Redis that is frozen, black-holed or gone. (The flows against the
//! real Better Auth server with `@better-auth/redis-storage` are in `better_auth.rs`.)

use std::time::Duration;

use auth_core::{AuthError, Authenticator, Outcome, Refusal};
use chrono::Utc;
use serde_json::json;
use test_support::proxy::Proxy;
use test_support::redis::TestRedis;
use test_support::{NewUser, TestDb, Variant};

const SECRET: &str = "redis-test-secret-0123456789abcdefghijklmnop";

fn authenticator(db: &TestDb, url: &str, prefix: &str, extra: &[(&str, &str)]) -> Authenticator {
    let mut vars = vec![
        ("BETTER_AUTH_SECONDARY_STORAGE_URL", url),
        ("BETTER_AUTH_SECONDARY_STORAGE_PREFIX", prefix),
        ("DATABASE_CONNECT_TIMEOUT_MS", "500"),
        ("DATABASE_STATEMENT_TIMEOUT_MS", "500"),
    ];
    vars.extend_from_slice(extra);
    test_support::authenticator(&db.url, SECRET, &vars)
}

/// What Better Auth stores under a session token (`createSession` in its internal adapter).
fn value(user_id: &str, token: &str, expires_in: chrono::Duration, banned: bool) -> String {
    let now = Utc::now();
    json!({
        "session": {
            "id": format!("s-{token}"), "token": token, "userId": user_id,
            "expiresAt": now + expires_in, "createdAt": now, "updatedAt": now,
            "ipAddress": "", "userAgent": "test",
        },
        "user": {
            "id": user_id, "name": "Redis User", "email": "redis@example.com",
            "emailVerified": true, "createdAt": now, "updatedAt": now,
            "role": "user", "banned": banned, "banExpires": null,
        },
    })
    .to_string()
}

async fn check(auth: &Authenticator, token: &str) -> Result<auth_core::Authenticated, AuthError> {
    test_support::authenticate_cookie(auth, SECRET, token).await
}

fn refusal(result: Result<auth_core::Authenticated, AuthError>) -> Refusal {
    match result {
        Err(AuthError::Refused { reason, .. }) => reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// A database with one user, a Redis prefix of the test's own, and a live session of the user
/// stored there as Better Auth stores it.
async fn with_live_session() -> (TestDb, String, TestRedis, String) {
    let db = TestDb::new(Variant::Default).await;
    let user = db.create_user(&NewUser::new("redis@example.com")).await;
    let redis = TestRedis::new();
    let token = test_support::random_token(32);
    redis
        .set(
            &token,
            &value(&user, &token, chrono::Duration::hours(1), false),
        )
        .await;
    (db, user, redis, token)
}

#[tokio::test]
async fn values_are_read_as_better_auth_writes_them() {
    let (db, user, redis, token) = with_live_session().await;
    let auth = authenticator(&db, &redis.url, &redis.prefix, &[]);
    let ok = check(&auth, &token).await.expect("a session in Redis");
    assert_eq!(ok.identity.user_id, user);
    assert_eq!(
        ok.identity.session_id.as_deref(),
        Some(format!("s-{token}").as_str())
    );

    // Double-encoded (a JSON string holding the JSON), as seen in the wild.
    let doubled = serde_json::to_string(&value(&user, &token, chrono::Duration::hours(1), false))
        .expect("json string");
    redis.set(&token, &doubled).await;
    assert!(check(&auth, &token).await.is_ok());

    // The key still there past expiresAt: refused, as get-session refuses it.
    redis
        .set(
            &token,
            &value(&user, &token, chrono::Duration::seconds(-1), false),
        )
        .await;
    assert_eq!(refusal(check(&auth, &token).await), Refusal::Expired);

    // A banned snapshot is refused (403).
    redis
        .set(
            &token,
            &value(&user, &token, chrono::Duration::hours(1), true),
        )
        .await;
    let banned = check(&auth, &token).await.expect_err("banned");
    assert_eq!(banned.outcome(), Outcome::Forbidden);

    // No key: refused, and no database fallback without storeSessionInDatabase.
    assert_eq!(
        refusal(check(&auth, &test_support::random_token(32)).await),
        Refusal::Unknown
    );
}

#[tokio::test]
async fn a_ban_written_in_sql_needs_the_database_check() {
    let (db, user, redis, token) = with_live_session().await;
    db.set_banned(&user, true).await;
    let snapshot_only = authenticator(&db, &redis.url, &redis.prefix, &[]);
    assert!(
        check(&snapshot_only, &token).await.is_ok(),
        "the snapshot from sign-in does not know of a ban written in SQL (as in Better Auth)"
    );
    let checked = authenticator(
        &db,
        &redis.url,
        &redis.prefix,
        &[("BETTER_AUTH_CHECK_BAN_IN_DATABASE", "true")],
    );
    assert_eq!(refusal(check(&checked, &token).await), Refusal::Banned);
    db.set_banned(&user, false).await;
    assert!(check(&checked, &token).await.is_ok());
}

#[tokio::test]
async fn garbage_in_storage_is_an_error_never_an_allow() {
    let db = TestDb::new(Variant::Default).await;
    let redis = TestRedis::new();
    let auth = authenticator(&db, &redis.url, &redis.prefix, &[]);
    let token = test_support::random_token(32);
    for garbage in [
        "not json".to_owned(),
        "42".to_owned(),
        json!({"session": {"userId": "u1", "expiresAt": "2099-01-01T00:00:00Z"}}).to_string(),
        json!({"session": {"userId": "u1", "expiresAt": 12}, "user": {"id": "u1"}}).to_string(),
        json!({"session": {"userId": "u2", "expiresAt": "2099-01-01T00:00:00Z"}, "user": {"id": "u1"}})
            .to_string(),
    ] {
        redis.set(&token, &garbage).await;
        let error = check(&auth, &token).await.expect_err(&garbage);
        assert_eq!(error.outcome(), Outcome::Unavailable, "{garbage}: {error}");
    }
}

#[tokio::test]
async fn a_frozen_or_unreachable_redis_is_an_error_and_recovers_by_itself() {
    let (db, _, redis, token) = with_live_session().await;
    let upstream = redis
        .url
        .trim_start_matches("redis://")
        .trim_end_matches('/')
        .to_owned();
    let proxy = Proxy::start(&upstream).await;
    let auth = authenticator(
        &db,
        &format!("redis://{}", proxy.address),
        &redis.prefix,
        &[],
    );
    assert!(check(&auth, &token).await.is_ok());

    proxy.stall();
    for attempt in 0..3 {
        let started = std::time::Instant::now();
        let error = check(&auth, &token).await.expect_err("frozen");
        assert_eq!(error.outcome(), Outcome::Unavailable, "attempt {attempt}");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "bounded by the timeouts"
        );
    }
    proxy.resume();
    proxy.black_hole_existing();
    let mut recovered = false;
    for _ in 0..5 {
        match check(&auth, &token).await {
            Ok(_) => {
                recovered = true;
                break;
            }
            Err(error) => assert_eq!(error.outcome(), Outcome::Unavailable),
        }
    }
    assert!(
        recovered,
        "a new connection replaces the dead one, no new container needed"
    );

    let gone = authenticator(&db, "redis://127.0.0.1:1", &redis.prefix, &[]);
    let error = check(&gone, &token).await.expect_err("no Redis");
    assert_eq!(error.outcome(), Outcome::Unavailable);
}

#[tokio::test]
async fn the_functions_identify_callers_from_redis_and_refuse_what_they_cannot_do_there() {
    use test_support::http::{Api, ApiRequest, send};
    let db = TestDb::new(Variant::Default).await;
    let mut admin = NewUser::new("admin@example.com");
    admin.role = Some("admin".into());
    let admin = db.create_user(&admin).await;
    let victim = db.create_user(&NewUser::new("victim@example.com")).await;
    let redis = TestRedis::new();
    let token = test_support::random_token(32);
    let mut stored: serde_json::Value =
        serde_json::from_str(&value(&admin, &token, chrono::Duration::hours(1), false))
            .expect("json");
    stored["user"]["role"] = json!("admin");
    redis.set(&token, &stored.to_string()).await;
    let app = test_support::http::app(
        &db.url,
        &[
            ("BETTER_AUTH_SECONDARY_STORAGE_URL", redis.url.as_str()),
            (
                "BETTER_AUTH_SECONDARY_STORAGE_PREFIX",
                redis.prefix.as_str(),
            ),
        ],
    );
    let bearer = format!("Bearer {token}");
    let me = send(
        me::handler::handle,
        &app,
        &ApiRequest::new(Api::Http, "GET", "/auth/me").header("authorization", &bearer),
    )
    .await;
    assert_eq!((me.status, me.body["id"].clone()), (200, json!(admin)));
    for (method, path) in [
        ("GET", format!("/users/{victim}/sessions")),
        ("DELETE", format!("/users/{victim}/sessions")),
    ] {
        let reply = send(
            sessions::handler::handle,
            &app,
            &ApiRequest::new(Api::Http, method, &path).header("authorization", &bearer),
        )
        .await;
        assert_eq!(
            (reply.status, reply.body["code"].as_str()),
            (500, Some("NOT_SUPPORTED")),
            "{method} {path}"
        );
    }
    let ban = send(
        users::handler::handle,
        &app,
        &ApiRequest::new(Api::Http, "POST", &format!("/users/{victim}/ban"))
            .header("authorization", &bearer),
    )
    .await;
    assert_eq!(
        (ban.status, ban.body["code"].as_str()),
        (500, Some("NOT_SUPPORTED"))
    );
    let user = send(
        users::handler::handle,
        &app,
        &ApiRequest::new(Api::Http, "GET", &format!("/users/{victim}"))
            .header("authorization", &bearer),
    )
    .await;
    assert_eq!(user.status, 200);
    assert_ne!(
        user.body["banned"],
        json!(true),
        "a refused ban changed nothing"
    );
}
