//! Sessions in secondary storage (Redis) against a real Redis: values as Better Auth writes
//! them, bans, garbage, and a Redis that is frozen, black-holed or gone. (The flows against the
//! real Better Auth server with `@better-auth/redis-storage` are in `better_auth::redis_storage`.)

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
    assert_eq!(ok.identity.user_id.as_deref(), Some(user.as_str()));
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

/// A value shaped as a session (`{session: {…}, user: {…}}`) that does not decode is a fault
/// (500), never an allow; a value that is not a session at all is an unknown session (see
/// `a_bearer_value_naming_better_auths_own_keys_is_an_unknown_session`).
#[tokio::test]
async fn garbage_in_storage_is_an_error_never_an_allow() {
    let db = TestDb::new(Variant::Default).await;
    let redis = TestRedis::new();
    let auth = authenticator(&db, &redis.url, &redis.prefix, &[]);
    let token = test_support::random_token(32);
    for not_a_session in [
        "not json".to_owned(),
        "42".to_owned(),
        json!({"session": {"userId": "u1", "expiresAt": "2099-01-01T00:00:00Z"}}).to_string(),
    ] {
        redis.set(&token, &not_a_session).await;
        assert_eq!(
            refusal(check(&auth, &token).await),
            Refusal::Unknown,
            "{not_a_session}"
        );
    }
    for garbage in [
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

/// A user's sessions written as Better Auth's `createSession` writes them: each value with a
/// TTL to its expiry, and the `active-sessions-<userId>` list with a TTL to the furthest.
async fn store_sessions(redis: &TestRedis, user: &str, role: &str, hours: &[i64]) -> Vec<String> {
    let now = Utc::now();
    let mut list = Vec::new();
    let mut tokens = Vec::new();
    for h in hours {
        let token = test_support::random_token(32);
        let mut stored: serde_json::Value =
            serde_json::from_str(&value(user, &token, chrono::Duration::hours(*h), false))
                .expect("json");
        stored["user"]["role"] = json!(role);
        // An additional field of the app's own, as Better Auth copies the whole user row.
        stored["user"]["plan"] = json!("pro");
        let expires = now + chrono::Duration::hours(*h);
        if *h > 0 {
            redis
                .set_ex(&token, &stored.to_string(), (*h as u64) * 3600)
                .await;
        }
        list.push(json!({"token": token, "expiresAt": expires.timestamp_millis()}));
        tokens.push(token);
    }
    let furthest = hours.iter().max().copied().unwrap_or(1).max(1) as u64;
    redis
        .set_ex(
            &format!("active-sessions-{user}"),
            &json!(list).to_string(),
            furthest * 3600,
        )
        .await;
    tokens
}

#[tokio::test]
async fn the_functions_list_revoke_and_ban_in_redis_as_better_auth_does() {
    use test_support::http::{Api, ApiRequest, send};
    let db = TestDb::new(Variant::Default).await;
    let mut admin = NewUser::new("admin@example.com");
    admin.role = Some("admin".into());
    let admin = db.create_user(&admin).await;
    let victim = db.create_user(&NewUser::new("victim@example.com")).await;
    let redis = TestRedis::new();
    let admin_token = store_sessions(&redis, &admin, "admin", &[1])
        .await
        .remove(0);
    // Four list entries: live for 3h, 2h and 5h, and one whose list entry has expired.
    let tokens = store_sessions(&redis, &victim, "user", &[3, 2, 5, -1]).await;
    // A value that is not JSON is skipped, as Better Auth's listSessions skips it.
    let garbage = test_support::random_token(32);
    redis.set(&garbage, "not json").await;
    let list_key = format!("active-sessions-{victim}");
    let mut list: Vec<serde_json::Value> =
        serde_json::from_str(&redis.get(&list_key).await.expect("list")).expect("json");
    list.push(json!({"token": garbage, "expiresAt": (Utc::now() + chrono::Duration::hours(4)).timestamp_millis()}));
    redis
        .set_ex(&list_key, &json!(list).to_string(), 5 * 3600)
        .await;

    let vars = [
        ("BETTER_AUTH_SECONDARY_STORAGE_URL", redis.url.as_str()),
        (
            "BETTER_AUTH_SECONDARY_STORAGE_PREFIX",
            redis.prefix.as_str(),
        ),
    ];
    let app = test_support::http::app(&db.url, &vars);
    let auth = authenticator(&db, &redis.url, &redis.prefix, &[]);
    let bearer = format!("Bearer {admin_token}");
    let call = |method: &str, path: String| {
        ApiRequest::new(Api::Http, method, &path).header("authorization", &bearer)
    };

    let listed = send(
        sessions::handler::handle,
        &app,
        &call("GET", format!("/users/{victim}/sessions")),
    )
    .await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let ids: Vec<&str> = listed.body["sessions"]
        .as_array()
        .expect("list")
        .iter()
        .map(|s| s["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids.len(), 3, "live, readable sessions only: {ids:?}");

    // Revoke one (the 3h session): its key goes, and the list is rewritten as Better Auth
    // rewrites it: live entries not revoked, sorted by expiry, TTL to the furthest.
    let revoked = send(
        sessions::handler::handle,
        &app,
        &call(
            "DELETE",
            format!("/users/{victim}/sessions/s-{}", tokens[0]),
        ),
    )
    .await;
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    assert_eq!(redis.get(&tokens[0]).await, None);
    let rewritten: Vec<serde_json::Value> =
        serde_json::from_str(&redis.get(&list_key).await.expect("list")).expect("json");
    let order: Vec<&str> = rewritten
        .iter()
        .map(|e| e["token"].as_str().expect("token"))
        .collect();
    assert_eq!(
        order,
        vec![tokens[1].as_str(), garbage.as_str(), tokens[2].as_str()]
    );
    assert!(
        rewritten.iter().all(|e| e["expiresAt"].is_i64()),
        "epoch ms integers"
    );
    let ttl = redis.ttl(&list_key).await;
    assert!(
        (5 * 3600 - 5..=5 * 3600).contains(&ttl),
        "TTL to the furthest: {ttl}"
    );
    assert_eq!(
        refusal(check(&auth, &tokens[0]).await),
        Refusal::Unknown,
        "revoked here, refused here"
    );
    assert!(check(&auth, &tokens[1]).await.is_ok());

    // Issue 27, F6: a marker Better Auth set for longer (its TTL is the longest of the session
    // lifetime, a day and the impersonation lifetime: 30 days here) is never shortened.
    let marker_key = format!("revoked-sessions-before-{victim}");
    redis.set_ex(&marker_key, "1", 2_592_000).await;
    // Ban: the user is banned in PostgreSQL and every session in Redis goes, with the marker.
    let banned = send(
        users::handler::handle,
        &app,
        &call("POST", format!("/users/{victim}/ban")),
    )
    .await;
    assert_eq!(banned.status, 200, "{}", banned.body);
    assert_eq!(banned.body["user"]["banned"], json!(true));
    assert_eq!(redis.get(&tokens[1]).await, None);
    assert_eq!(redis.get(&tokens[2]).await, None);
    assert_eq!(redis.get(&list_key).await, None, "an empty list is deleted");
    let marker: i64 = redis
        .get(&marker_key)
        .await
        .expect("the revocation marker")
        .parse()
        .expect("epoch ms");
    assert!((Utc::now().timestamp_millis() - marker).abs() < 60_000);
    assert!(
        redis.ttl(&marker_key).await >= 2_592_000 - 5,
        "the longer TTL Better Auth set is kept"
    );
    // A key that lingers (a replica, a race) is refused under the marker.
    let lingering = value(&victim, &tokens[2], chrono::Duration::hours(5), false);
    let mut lingering: serde_json::Value = serde_json::from_str(&lingering).expect("json");
    lingering["session"]["createdAt"] = json!(Utc::now() - chrono::Duration::hours(1));
    redis.set(&tokens[2], &lingering.to_string()).await;
    assert_eq!(refusal(check(&auth, &tokens[2]).await), Refusal::Unknown);
    // The admin's own session was not touched.
    assert!(check(&auth, &admin_token).await.is_ok());
}

#[tokio::test]
async fn a_role_change_here_reaches_the_snapshots_the_authorizer_reads() {
    use test_support::http::{Api, ApiRequest, send};
    let db = TestDb::new(Variant::Default).await;
    let mut admin = NewUser::new("admin@example.com");
    admin.role = Some("admin".into());
    let admin = db.create_user(&admin).await;
    let user = db.create_user(&NewUser::new("user@example.com")).await;
    let redis = TestRedis::new();
    let admin_token = store_sessions(&redis, &admin, "admin", &[1])
        .await
        .remove(0);
    let user_tokens = store_sessions(&redis, &user, "user", &[2, 3]).await;
    let before = redis.ttl(&user_tokens[1]).await;
    let vars = [
        ("BETTER_AUTH_SECONDARY_STORAGE_URL", redis.url.as_str()),
        (
            "BETTER_AUTH_SECONDARY_STORAGE_PREFIX",
            redis.prefix.as_str(),
        ),
    ];
    let app = test_support::http::app(&db.url, &vars);
    let auth = authenticator(&db, &redis.url, &redis.prefix, &[]);
    let reply = send(
        users::handler::handle,
        &app,
        &ApiRequest::new(Api::Http, "PUT", &format!("/users/{user}/role"))
            .header("authorization", &format!("Bearer {admin_token}"))
            .json(&json!({"role": "admin"})),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    for token in &user_tokens {
        let ok = check(&auth, token).await.expect("still signed in");
        assert_eq!(ok.identity.role.as_deref(), Some("admin"));
        let stored: serde_json::Value =
            serde_json::from_str(&redis.get(token).await.expect("kept")).expect("json");
        assert_eq!(stored["user"]["role"], "admin");
        assert_eq!(
            stored["user"]["name"], "Test User",
            "the user as stored now"
        );
        assert_eq!(
            stored["user"]["plan"], "pro",
            "fields we do not know are kept"
        );
    }
    let after = redis.ttl(&user_tokens[1]).await;
    assert!(
        after > 0 && after <= before,
        "TTL kept: {before} -> {after}"
    );
}

#[tokio::test]
async fn the_functions_answer_503_while_redis_is_frozen_and_recover() {
    use test_support::http::{Api, ApiRequest, send};
    let db = TestDb::new(Variant::Default).await;
    let user = db.create_user(&NewUser::new("frozen@example.com")).await;
    let redis = TestRedis::new();
    let tokens = store_sessions(&redis, &user, "user", &[1, 2]).await;
    let upstream = redis
        .url
        .trim_start_matches("redis://")
        .trim_end_matches('/')
        .to_owned();
    let proxy = Proxy::start(&upstream).await;
    let through_proxy = format!("redis://{}", proxy.address);
    let vars = [
        ("BETTER_AUTH_SECONDARY_STORAGE_URL", through_proxy.as_str()),
        (
            "BETTER_AUTH_SECONDARY_STORAGE_PREFIX",
            redis.prefix.as_str(),
        ),
        ("DATABASE_CONNECT_TIMEOUT_MS", "500"),
        ("DATABASE_STATEMENT_TIMEOUT_MS", "500"),
    ];
    let app = test_support::http::app(&db.url, &vars);
    let revoke = ApiRequest::new(Api::Http, "DELETE", &format!("/users/{user}/sessions"))
        .header("authorization", &format!("Bearer {}", tokens[0]));
    let list = ApiRequest::new(Api::Http, "GET", &format!("/users/{user}/sessions"))
        .header("authorization", &format!("Bearer {}", tokens[0]));
    assert_eq!(
        send(sessions::handler::handle, &app, &list).await.status,
        200
    );

    proxy.stall();
    let frozen = send(sessions::handler::handle, &app, &revoke).await;
    assert_eq!(
        (frozen.status, frozen.body["code"].as_str()),
        (503, Some("SERVICE_UNAVAILABLE"))
    );
    assert!(!frozen.body.to_string().contains(&tokens[0]));
    proxy.resume();
    proxy.black_hole_existing();
    assert!(redis.get(&tokens[1]).await.is_some(), "nothing was revoked");
    let mut answered = None;
    for _ in 0..5 {
        let reply = send(sessions::handler::handle, &app, &revoke).await;
        if reply.status == 200 {
            answered = Some(reply.body);
            break;
        }
        assert_eq!(reply.status, 503);
    }
    assert_eq!(
        answered,
        Some(json!({"success": true, "revoked": 2})),
        "recovered without a new container"
    );
    assert_eq!(redis.get(&tokens[1]).await, None);
}

/// The read script finds the user id by a string match; whatever a value holds, the marker that
/// decides is the session's own user's.
#[tokio::test]
async fn the_revocation_marker_read_is_the_sessions_users() {
    let (db, user, redis, token) = with_live_session().await;
    let auth = authenticator(&db, &redis.url, &redis.prefix, &[]);
    let mut stored: serde_json::Value =
        serde_json::from_str(&value(&user, &token, chrono::Duration::hours(1), false))
            .expect("json");
    stored["session"]["createdAt"] = json!(Utc::now() - chrono::Duration::minutes(5));
    // A field before `userId` that looks like it, and a name holding the pattern (escaped).
    let session = stored["session"].as_object().expect("object").clone();
    let mut reordered = serde_json::Map::new();
    reordered.insert("meta".into(), json!({"userId": "someone-else"}));
    reordered.extend(session);
    stored["session"] = serde_json::Value::Object(reordered);
    stored["user"]["name"] = json!("\"userId\":\"someone-else\"");
    redis.set(&token, &stored.to_string()).await;
    assert!(check(&auth, &token).await.is_ok(), "no marker yet");
    let now = Utc::now().timestamp_millis().to_string();
    redis
        .set("revoked-sessions-before-someone-else", &now)
        .await;
    assert!(
        check(&auth, &token).await.is_ok(),
        "another user's marker decides nothing"
    );
    redis
        .set(&format!("revoked-sessions-before-{user}"), &now)
        .await;
    assert_eq!(refusal(check(&auth, &token).await), Refusal::Unknown);
}

/// Issue 27, F5: the id in the path may be spelt otherwise than stored (an upper-case uuid, a
/// serial id with leading zeros); PostgreSQL finds the user either way, so the Redis keys must be
/// built from the id as stored, or the sessions in Redis stay valid while the answer says they
/// were revoked.
#[tokio::test]
async fn revoking_by_another_spelling_of_the_id_revokes_the_sessions_in_redis() {
    use test_support::http::{Api, ApiRequest, send};
    let db = TestDb::new(Variant::RenamedSnakeUuid).await;
    let mut admin = NewUser::new("admin@example.com");
    admin.role = Some("admin".into());
    let admin = db.create_user(&admin).await;
    let victim = db.create_user(&NewUser::new("victim@example.com")).await;
    let redis = TestRedis::new();
    let admin_token = store_sessions(&redis, &admin, "admin", &[1])
        .await
        .remove(0);
    let tokens = store_sessions(&redis, &victim, "user", &[3, 2]).await;
    let vars = [
        ("BETTER_AUTH_SECONDARY_STORAGE_URL", redis.url.as_str()),
        (
            "BETTER_AUTH_SECONDARY_STORAGE_PREFIX",
            redis.prefix.as_str(),
        ),
    ];
    let app = test_support::http::app(&db.url, &vars);
    let auth = authenticator(&db, &redis.url, &redis.prefix, &[]);
    assert!(check(&auth, &tokens[0]).await.is_ok());
    let bearer = format!("Bearer {admin_token}");
    let shouted = victim.to_ascii_uppercase();
    assert_ne!(shouted, victim);

    let one = send(
        sessions::handler::handle,
        &app,
        &ApiRequest::new(
            Api::Http,
            "DELETE",
            &format!("/users/{shouted}/sessions/s-{}", tokens[1]),
        )
        .header("authorization", &bearer),
    )
    .await;
    assert_eq!(one.status, 200, "{}", one.body);
    assert_eq!(redis.get(&tokens[1]).await, None);

    let all = send(
        sessions::handler::handle,
        &app,
        &ApiRequest::new(Api::Http, "DELETE", &format!("/users/{shouted}/sessions"))
            .header("authorization", &bearer),
    )
    .await;
    assert_eq!(all.status, 200, "{}", all.body);
    assert_eq!(all.body["revoked"], json!(1), "{}", all.body);
    assert_eq!(
        redis.get(&tokens[0]).await,
        None,
        "the key in Redis is gone"
    );
    assert_eq!(
        refusal(check(&auth, &tokens[0]).await),
        Refusal::Unknown,
        "and the authorizer refuses the session"
    );
    assert!(
        redis
            .get(&format!("revoked-sessions-before-{victim}"))
            .await
            .is_some()
    );
    assert!(check(&auth, &admin_token).await.is_ok());
}

/// Issue 27, S1: a demoted admin's role can come back in a Redis snapshot (our snapshot refresh
/// and Better Auth's `updateSession` both read, modify and write the value; the demoted user can
/// trigger the latter at will). Held here deterministically: the snapshot says `admin` while
/// PostgreSQL says `user`. Admin routes believe PostgreSQL, through the authorizer's context too;
/// an admin whose row still says `admin` keeps the power.
#[tokio::test]
async fn a_demoted_admins_stale_snapshot_grants_no_admin_power() {
    use test_support::http::{Api, ApiRequest, send};
    let db = TestDb::new(Variant::Default).await;
    let demoted = db.create_user(&NewUser::new("demoted@example.com")).await;
    let mut admin = NewUser::new("admin@example.com");
    admin.role = Some("admin".into());
    let admin = db.create_user(&admin).await;
    let redis = TestRedis::new();
    let stale = store_sessions(&redis, &demoted, "admin", &[1])
        .await
        .remove(0);
    let current = store_sessions(&redis, &admin, "admin", &[1])
        .await
        .remove(0);
    let vars = [
        ("BETTER_AUTH_SECONDARY_STORAGE_URL", redis.url.as_str()),
        (
            "BETTER_AUTH_SECONDARY_STORAGE_PREFIX",
            redis.prefix.as_str(),
        ),
    ];
    let app = test_support::http::app(&db.url, &vars);
    let list = |bearer: &str| {
        ApiRequest::new(Api::Http, "GET", "/users")
            .header("authorization", &format!("Bearer {bearer}"))
    };
    let refused = send(users::handler::handle, &app, &list(&stale)).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    let through_authorizer = send(
        users::handler::handle,
        &app,
        &ApiRequest::new(Api::Http, "GET", "/users").as_user(&demoted, "s", "admin"),
    )
    .await;
    assert_eq!(
        through_authorizer.status, 403,
        "{}",
        through_authorizer.body
    );
    let allowed = send(users::handler::handle, &app, &list(&current)).await;
    assert_eq!(allowed.status, 200, "{}", allowed.body);
}

/// Issue 27, F2: a value in secondary storage carries no impersonator's ban, so a banned
/// admin's impersonation session kept acting. Now the impersonating admin's current ban is read
/// from PostgreSQL (one primary-key query, impersonation sessions only), as the PostgreSQL lookup
/// joins it; an admin who no longer exists impersonates no one.
#[tokio::test]
async fn a_banned_admins_impersonation_session_in_redis_is_refused() {
    let db = TestDb::new(Variant::Default).await;
    let user = db.create_user(&NewUser::new("target@example.com")).await;
    let mut admin = NewUser::new("admin@example.com");
    admin.role = Some("admin".into());
    let admin = db.create_user(&admin).await;
    let redis = TestRedis::new();
    let impersonation = |by: &str| {
        let token = test_support::random_token(32);
        let mut stored: serde_json::Value =
            serde_json::from_str(&value(&user, &token, chrono::Duration::hours(1), false))
                .expect("json");
        stored["session"]["impersonatedBy"] = json!(by);
        (token, stored.to_string())
    };
    let (token, stored) = impersonation(&admin);
    redis.set(&token, &stored).await;
    let auth = authenticator(&db, &redis.url, &redis.prefix, &[]);
    let allowed = check(&auth, &token).await.expect("the admin is not banned");
    assert_eq!(
        allowed.identity.impersonated_by.as_deref(),
        Some(admin.as_str())
    );

    db.set_banned(&admin, true).await;
    assert_eq!(
        refusal(check(&auth, &token).await),
        Refusal::ImpersonatorBanned
    );

    let (orphan, stored) = impersonation("no-such-admin");
    redis.set(&orphan, &stored).await;
    assert_eq!(refusal(check(&auth, &orphan).await), Refusal::Unknown);
}

/// Issue 27 (hardening): a list entry naming another user's session key never gets this user's
/// snapshot written into it: promoting one user must not promote whoever's token sits in their
/// list.
#[tokio::test]
async fn a_snapshot_refresh_touches_only_the_list_owners_sessions() {
    use test_support::http::{Api, ApiRequest, send};
    let db = TestDb::new(Variant::Default).await;
    let mut admin = NewUser::new("admin@example.com");
    admin.role = Some("admin".into());
    let admin = db.create_user(&admin).await;
    let promoted = db.create_user(&NewUser::new("promoted@example.com")).await;
    let bystander = db.create_user(&NewUser::new("bystander@example.com")).await;
    let redis = TestRedis::new();
    let admin_token = store_sessions(&redis, &admin, "admin", &[1])
        .await
        .remove(0);
    let own = store_sessions(&redis, &promoted, "user", &[2])
        .await
        .remove(0);
    let foreign = store_sessions(&redis, &bystander, "user", &[2])
        .await
        .remove(0);
    // The promoted user's list also names the bystander's key.
    let list_key = format!("active-sessions-{promoted}");
    let expires = (Utc::now() + chrono::Duration::hours(2)).timestamp_millis();
    let list =
        json!([{"token": own, "expiresAt": expires}, {"token": foreign, "expiresAt": expires}]);
    redis.set_ex(&list_key, &list.to_string(), 7200).await;
    let vars = [
        ("BETTER_AUTH_SECONDARY_STORAGE_URL", redis.url.as_str()),
        (
            "BETTER_AUTH_SECONDARY_STORAGE_PREFIX",
            redis.prefix.as_str(),
        ),
    ];
    let app = test_support::http::app(&db.url, &vars);
    let reply = send(
        users::handler::handle,
        &app,
        &ApiRequest::new(Api::Http, "PUT", &format!("/users/{promoted}/role"))
            .header("authorization", &format!("Bearer {admin_token}"))
            .json(&json!({"role": "admin"})),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let role_in = |stored: Option<String>| -> serde_json::Value {
        let stored: serde_json::Value = serde_json::from_str(&stored.expect("kept")).expect("json");
        stored["user"]["role"].clone()
    };
    assert_eq!(role_in(redis.get(&own).await), json!("admin"));
    assert_eq!(role_in(redis.get(&foreign).await), json!("user"));
}

/// Issue 27 S2: a bearer value is a key under the prefix, so it can name Better Auth's own
/// bookkeeping keys (the user's session list, the revocation marker), a rate-limit counter, a
/// key of another type or another token's session. None of them is a session: unknown (401),
/// not a storage fault (500 and an ERROR line).
#[tokio::test]
async fn a_bearer_value_naming_better_auths_own_keys_is_an_unknown_session() {
    let (db, user, redis, token) = with_live_session().await;
    let auth = authenticator(&db, &redis.url, &redis.prefix, &[]);
    let expires = (Utc::now() + chrono::Duration::hours(1)).timestamp_millis();
    redis
        .set(
            &format!("active-sessions-{user}"),
            &json!([{"token": token, "expiresAt": expires}]).to_string(),
        )
        .await;
    redis
        .set(&format!("revoked-sessions-before-{user}"), "1")
        .await;
    redis
        .set(
            "ratelimit-127001",
            &json!({"key": "127001", "count": 1, "lastRequest": expires}).to_string(),
        )
        .await;
    redis.hset("a-hash", "field", "value").await;
    // The live session's value copied under another key: another token's session.
    let copied = redis.get(&token).await.expect("the live session");
    redis.set("copied-session", &copied).await;
    let (guard, logs) = test_support::logs::capture();
    for key in [
        format!("active-sessions-{user}"),
        format!("revoked-sessions-before-{user}"),
        "ratelimit-127001".to_owned(),
        "a-hash".to_owned(),
        "copied-session".to_owned(),
    ] {
        let bearer = format!("Bearer {key}");
        let result = auth
            .authenticate(&auth_core::RawCredentials {
                authorization: vec![&bearer],
                cookies: vec![],
                api_keys: vec![],
                ..Default::default()
            })
            .await;
        assert_eq!(refusal(result), Refusal::Unknown, "{key}");
    }
    drop(guard);
    let logs = logs.text();
    assert!(!logs.contains("\"ERROR\""), "{logs}");
    assert!(!logs.contains(&user), "{logs}");
    // The live session itself still works.
    assert!(check(&auth, &token).await.is_ok());
}

/// Issue 27 S2: with no key prefix every key of a shared Redis is a bearer value away; a
/// start-up warning recommends signed bearer tokens.
#[tokio::test]
async fn an_empty_prefix_without_required_signatures_is_warned_about() {
    let db = TestDb::new(Variant::Default).await;
    let redis = TestRedis::new();
    let (guard, logs) = test_support::logs::capture();
    let _ = authenticator(&db, &redis.url, "", &[]);
    let _ = authenticator(
        &db,
        &redis.url,
        &redis.prefix,
        &[("BETTER_AUTH_REQUIRE_SIGNATURE", "false")],
    );
    let warned = logs.text();
    let _ = authenticator(
        &db,
        &redis.url,
        "",
        &[("BETTER_AUTH_REQUIRE_SIGNATURE", "true")],
    );
    drop(guard);
    assert_eq!(
        warned.matches("BETTER_AUTH_REQUIRE_SIGNATURE=true").count(),
        1,
        "{warned}"
    );
    assert_eq!(logs.text(), warned, "no warning with signatures required");
}
