//! Sessions in Better Auth's secondary storage (`@better-auth/redis-storage`): in Redis only or in
//! Redis and the database, sign-in, revocation and bans agree; a Redis miss is final or falls back
//! to the database exactly as Better Auth does; revoke-all's marker refuses a lingering key.
//! (Our reading of Redis values on its own, and a faulty Redis: `secondary_storage`.)

use serde_json::json;
use test_support::better_auth::{Credential, Profile};
use test_support::redis::TestRedis;

use super::bans_and_revocation::{ban_flows, revocation_flows};
use super::common::{Ctx, email, with_redis};
use super::sign_in::sign_in_flows;

#[tokio::test]
async fn sessions_in_redis_only_agree() {
    let redis = TestRedis::new();
    sign_in_flows(with_redis(Profile::Default, &redis, false)).await;
}

#[tokio::test]
async fn sessions_in_redis_and_the_database_agree() {
    let redis = TestRedis::new();
    sign_in_flows(with_redis(Profile::Default, &redis, true)).await;
}

#[tokio::test]
async fn revocations_in_redis_agree() {
    let redis = TestRedis::new();
    revocation_flows(with_redis(Profile::Default, &redis, false)).await;
    let redis = TestRedis::new();
    revocation_flows(with_redis(Profile::Default, &redis, true)).await;
}

#[tokio::test]
async fn bans_in_redis_agree() {
    let redis = TestRedis::new();
    ban_flows(with_redis(Profile::Default, &redis, false)).await;
}

#[tokio::test]
async fn redis_only_means_no_session_table_and_a_miss_is_final() {
    let redis = TestRedis::new();
    let ctx = Ctx::start(with_redis(Profile::Default, &redis, false)).await;
    let session = ctx.ba.sign_up(&email("dora")).await;
    let tables = ctx
        .db
        .client
        .query_one(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'session'",
            &[&ctx.db.schema],
        )
        .await
        .expect("count");
    assert_eq!(
        tables.get::<_, i64>(0),
        0,
        "Better Auth made no session table"
    );
    let stored = redis
        .get(&session.token)
        .await
        .expect("the session is in Redis");
    assert!(stored.contains(&session.user_id));
    // The key gone (evicted, deleted): both refuse.
    redis.delete(&session.token).await;
    assert_eq!(ctx.agree_on_all("key deleted", &session).await, None);
}

/// Better Auth 1.7's revoke-all also writes `revoked-sessions-before-<userId>`: a session
/// created before it is refused even if its key is still (or again) in Redis.
#[tokio::test]
async fn a_key_left_behind_by_revoke_all_is_refused_by_both() {
    let redis = TestRedis::new();
    let ctx = Ctx::start(with_redis(Profile::Default, &redis, false)).await;
    let ida = email("ida");
    let session = ctx.ba.sign_up(&ida).await;
    let stored = redis.get(&session.token).await.expect("in Redis");
    let reply = ctx
        .ba
        .post(
            "/revoke-sessions",
            json!({}),
            Some(&Credential::Cookie(session.cookie.clone())),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(
        redis
            .get(&format!("revoked-sessions-before-{}", session.user_id))
            .await
            .is_some(),
        "Better Auth wrote the marker"
    );
    redis.set(&session.token, &stored).await;
    assert_eq!(ctx.agree_on_all("a lingering key", &session).await, None);
    let fresh = ctx.ba.sign_in(&ida).await;
    assert!(ctx.agree_on_all("signed in again", &fresh).await.is_some());
}

#[tokio::test]
async fn with_sessions_in_the_database_too_a_redis_miss_falls_back_as_better_auth_does() {
    let redis = TestRedis::new();
    let ctx = Ctx::start(with_redis(Profile::Default, &redis, true)).await;
    let session = ctx.ba.sign_up(&email("emil")).await;
    redis.delete(&session.token).await;
    assert_eq!(
        ctx.agree_on_all("served from the database", &session)
            .await
            .as_deref(),
        Some(session.user_id.as_str())
    );
}
