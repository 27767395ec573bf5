//! Expiry and refresh: sessions Better Auth refreshes stay valid with the new expiry and expired
//! ones are refused, in the database and in Redis; our own sliding refresh (for clients that only
//! call the API) extends a session exactly as Better Auth's `get-session` would.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use test_support::better_auth::{Credential, Profile, ServerOptions, Version};
use test_support::events::Shape;
use test_support::redis::TestRedis;

use super::common::{Ctx, Ours, SECRET, email, with_redis};

#[tokio::test]
async fn refreshed_sessions_stay_valid_and_expired_ones_are_refused() {
    let mut options = ServerOptions::new(Profile::Default, SECRET);
    options.expires_in = Some(3600);
    options.update_age = Some(0);
    let ctx = Ctx::start(options).await;
    let erin = ctx.ba.sign_up(&email("erin")).await;
    let before: DateTime<Utc> = ctx
        .db
        .client
        .query_one(
            "SELECT \"expiresAt\" FROM session WHERE token = $1",
            &[&erin.token],
        )
        .await
        .expect("row")
        .get(0);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // get-session past updateAge pushes expiresAt forward; `agree` checks we report the new one.
    assert!(ctx.agree_on_all("refreshed", &erin).await.is_some());
    let after: DateTime<Utc> = ctx
        .db
        .client
        .query_one(
            "SELECT \"expiresAt\" FROM session WHERE token = $1",
            &[&erin.token],
        )
        .await
        .expect("row")
        .get(0);
    assert!(
        after > before,
        "Better Auth refreshed the session ({before} → {after})"
    );

    ctx.db
        .execute(
            "UPDATE session SET \"expiresAt\" = now() - interval '1 second' WHERE token = $1",
            &[&erin.token],
        )
        .await;
    assert_eq!(ctx.agree_on_all("expired", &erin).await, None);
}

/// The same with sessions in Redis: Better Auth's refresh rewrites the stored value, and a value
/// whose `expiresAt` has passed is refused by both while its key lingers.
#[tokio::test]
async fn refresh_and_expiry_in_redis_agree() {
    for store_in_database in [false, true] {
        let redis = TestRedis::new();
        let mut options = with_redis(Profile::Default, &redis, store_in_database);
        options.expires_in = Some(3600);
        options.update_age = Some(0);
        let ctx = Ctx::start(options).await;
        let erin = ctx.ba.sign_up(&email("erin")).await;
        let expiry = |value: &str| -> DateTime<Utc> {
            let v: Value = serde_json::from_str(value).expect("json");
            v["session"]["expiresAt"]
                .as_str()
                .expect("expiresAt")
                .parse()
                .expect("date")
        };
        let before = expiry(&redis.get(&erin.token).await.expect("stored"));
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert!(
            ctx.agree_on_all("refreshed in Redis", &erin)
                .await
                .is_some(),
            "store_in_database: {store_in_database}"
        );
        let stored = redis.get(&erin.token).await.expect("stored");
        assert!(
            expiry(&stored) > before,
            "Better Auth refreshed the stored value"
        );

        let mut expired: Value = serde_json::from_str(&stored).expect("json");
        expired["session"]["expiresAt"] = json!(Utc::now() - chrono::Duration::seconds(1));
        redis.set(&erin.token, &expired.to_string()).await;
        assert_eq!(
            ctx.agree_on_all("expired in Redis", &erin).await,
            None,
            "store_in_database: {store_in_database}"
        );
    }
}

/// The session's stored expiry, where Better Auth keeps it.
async fn stored_expiry(ctx: &Ctx, redis: &TestRedis, keeping: &str, token: &str) -> DateTime<Utc> {
    if keeping == "database" {
        let row = ctx
            .db
            .client
            .query_one(
                "SELECT \"expiresAt\" FROM session WHERE token = $1",
                &[&token],
            )
            .await
            .expect("row");
        row.get::<_, DateTime<Utc>>(0)
    } else {
        let value: Value =
            serde_json::from_str(&redis.get(token).await.expect("stored")).expect("json");
        value["session"]["expiresAt"]
            .as_str()
            .expect("iso")
            .parse()
            .expect("date")
    }
}

/// Ages the session as if Better Auth last refreshed it `seconds` ago (expiresIn 3600 s).
async fn age_session(ctx: &Ctx, redis: &TestRedis, keeping: &str, token: &str, seconds: i64) {
    let at = Utc::now() + chrono::Duration::seconds(3600 - seconds);
    if keeping != "redis" {
        ctx.db
            .execute(
                "UPDATE session SET \"expiresAt\" = $2 WHERE token = $1",
                &[&token, &at],
            )
            .await;
    }
    if keeping != "database" {
        let mut value: Value =
            serde_json::from_str(&redis.get(token).await.expect("stored")).expect("json");
        value["session"]["expiresAt"] =
            json!(at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
        redis.set(token, &value.to_string()).await;
    }
}

/// Sliding refresh for clients that only call the API: past `updateAge`, our authorizer extends
/// the session exactly as Better Auth's `get-session` would, where Better Auth keeps it, and
/// Better Auth then reports the new expiry.
async fn sliding_refresh(keeping: &str) {
    sliding_refresh_on(keeping, Version::V1_7).await;
}

pub(super) async fn sliding_refresh_on(keeping: &str, version: Version) {
    let redis = TestRedis::new();
    let mut options = match keeping {
        "database" => ServerOptions::new(Profile::Default, SECRET),
        "redis" => with_redis(Profile::Default, &redis, false),
        _ => with_redis(Profile::Default, &redis, true),
    };
    options.version = version;
    options.expires_in = Some(3600);
    options.update_age = Some(600);
    let ctx = Ctx::start(options).await;
    let refreshing = ctx.authenticator_with(&[
        ("BETTER_AUTH_REFRESH_SESSIONS", "true"),
        ("BETTER_AUTH_SESSION_EXPIRES_IN", "3600"),
        ("BETTER_AUTH_SESSION_UPDATE_AGE", "600"),
    ]);
    let uma = ctx.ba.sign_up(&email("uma")).await;
    let bearer = Credential::Bearer(uma.token.clone());
    let expiry_of = |ours: Ours| -> DateTime<Utc> {
        match ours {
            Ours::Allow(context) => context["expiresAt"]
                .as_str()
                .expect("iso")
                .parse()
                .expect("date"),
            other => panic!("{keeping}: {other:?}"),
        }
    };

    // Not due (refreshed 100 s ago, updateAge 600 s): nothing written.
    age_session(&ctx, &redis, keeping, &uma.token, 100).await;
    let before = stored_expiry(&ctx, &redis, keeping, &uma.token).await;
    assert_eq!(
        expiry_of(ctx.ours_with(&refreshing, Shape::HttpV2, &bearer).await),
        before
    );
    assert_eq!(
        stored_expiry(&ctx, &redis, keeping, &uma.token).await,
        before,
        "{keeping}: not due"
    );

    // Due (refreshed 2000 s ago): extended to now + expiresIn, where Better Auth keeps it.
    age_session(&ctx, &redis, keeping, &uma.token, 2000).await;
    let started = Utc::now();
    let ours = expiry_of(
        ctx.ours_with(&refreshing, Shape::RestRequest, &bearer)
            .await,
    );
    assert!(
        (ours - started - chrono::Duration::seconds(3600))
            .num_seconds()
            .abs()
            <= 10,
        "{keeping}: extended by expiresIn ({ours})"
    );
    assert_eq!(
        stored_expiry(&ctx, &redis, keeping, &uma.token).await,
        ours,
        "{keeping}: written where Better Auth keeps it"
    );
    if keeping != "database" {
        let ttl = redis.ttl(&uma.token).await;
        assert!(
            (3590..=3600).contains(&ttl),
            "{keeping}: TTL to the new expiry ({ttl})"
        );
        let list: Value = serde_json::from_str(
            &redis
                .get(&format!("active-sessions-{}", uma.user_id))
                .await
                .expect("list"),
        )
        .expect("json");
        assert_eq!(list[0]["expiresAt"], json!(ours.timestamp_millis()));
    }
    let theirs = ctx
        .ba
        .get_session(&bearer)
        .await
        .expect("Better Auth still knows it");
    let theirs: DateTime<Utc> = theirs["session"]["expiresAt"]
        .as_str()
        .expect("iso")
        .parse()
        .expect("date");
    assert_eq!(theirs, ours, "{keeping}: Better Auth reports our refresh");

    // Off by default; and never with Better Auth's dont_remember cookie.
    age_session(&ctx, &redis, keeping, &uma.token, 2000).await;
    let aged = stored_expiry(&ctx, &redis, keeping, &uma.token).await;
    assert_eq!(
        expiry_of(ctx.ours(Shape::HttpV2, &bearer).await),
        aged,
        "off by default"
    );
    let value = uma.cookie.split_once('=').expect("pair").1;
    let not_remembered = Credential::Cookie(format!(
        "better-auth.session_token={value}; better-auth.dont_remember=true.sig"
    ));
    assert_eq!(
        expiry_of(
            ctx.ours_with(&refreshing, Shape::HttpV2, &not_remembered)
                .await
        ),
        aged
    );
    assert_eq!(
        stored_expiry(&ctx, &redis, keeping, &uma.token).await,
        aged,
        "{keeping}: dont_remember is never extended"
    );
}

#[tokio::test]
async fn sliding_refresh_in_the_database_agrees() {
    sliding_refresh("database").await;
}

#[tokio::test]
async fn sliding_refresh_in_redis_agrees() {
    sliding_refresh("redis").await;
}

#[tokio::test]
async fn sliding_refresh_in_redis_and_the_database_agrees() {
    sliding_refresh("both").await;
}
