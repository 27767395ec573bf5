//! The same flows against the latest Better Auth 1.6 (`tests/better-auth-1.6`). (Our account
//! functions on 1.6: `functions::on_better_auth_1_6`; organizations on 1.6:
//! `organizations::organizations_agree_on_better_auth_1_6`.)

use test_support::better_auth::{BetterAuthServer, Profile, ServerOptions, Version};
use test_support::redis::TestRedis;

use super::bans_and_revocation::{ban_flows, revocation_flows};
use super::common::{SECRET, with_redis};
use super::refresh::sliding_refresh_on;
use super::sign_in::sign_in_flows;

fn on_1_6(mut options: ServerOptions) -> ServerOptions {
    options.version = Version::V1_6;
    options
}

fn defaults() -> ServerOptions {
    on_1_6(ServerOptions::new(Profile::Default, SECRET))
}

#[tokio::test]
async fn sign_in_flows_agree() {
    sign_in_flows(defaults()).await;
}

#[tokio::test]
async fn each_harness_runs_its_own_better_auth() {
    for (version, expected) in [(Version::V1_7, "1.7."), (Version::V1_6, "1.6.")] {
        let db = Profile::Default.database().await;
        let mut options = ServerOptions::new(Profile::Default, SECRET);
        options.version = version;
        let server = BetterAuthServer::start(&db, options).await;
        assert!(
            server.better_auth_version.starts_with(expected),
            "{version:?}: {}",
            server.better_auth_version
        );
    }
}

#[tokio::test]
async fn secure_and_prefixed_cookies_agree() {
    let mut options = defaults();
    options.secure_cookies = true;
    options.cookie_prefix = Some("myapp".into());
    sign_in_flows(options).await;
}

#[tokio::test]
async fn revocations_agree() {
    revocation_flows(defaults()).await;
}

#[tokio::test]
async fn bans_agree() {
    ban_flows(defaults()).await;
}

#[tokio::test]
async fn sliding_refresh_agrees() {
    for keeping in ["database", "redis"] {
        sliding_refresh_on(keeping, Version::V1_6).await;
    }
}

#[tokio::test]
async fn sessions_in_redis_agree() {
    for store_in_database in [false, true] {
        let redis = TestRedis::new();
        sign_in_flows(on_1_6(with_redis(
            Profile::Default,
            &redis,
            store_in_database,
        )))
        .await;
        let redis = TestRedis::new();
        revocation_flows(on_1_6(with_redis(
            Profile::Default,
            &redis,
            store_in_database,
        )))
        .await;
    }
    let redis = TestRedis::new();
    ban_flows(on_1_6(with_redis(Profile::Default, &redis, false))).await;
}

/// Better Auth 1.6's legacy OAuth provider keeps access tokens in plain text in tables 1.7's
/// provider does not have: with `oauth` on, the authorizer refuses to start, naming the version
/// (never a silent refusal of every token); without `oauth`, the same database is fine.
#[tokio::test]
async fn the_legacy_oauth_provider_stops_the_start_naming_the_version() {
    let mut options = defaults();
    options.legacy_oauth = true;
    let db = Profile::Default.database().await;
    let _server = BetterAuthServer::start(&db, options).await;
    // The legacy shape, as Better Auth 1.6's migration wrote it: the token in plain text.
    let token_columns: Vec<String> = db
        .client
        .query_one(
            "SELECT coalesce(array_agg(column_name::text), '{}') FROM information_schema.columns \
             WHERE table_schema = $1 AND table_name = 'oauthAccessToken' \
             AND column_name IN ('accessToken', 'token')",
            &[&db.schema],
        )
        .await
        .expect("the catalog")
        .get(0);
    assert_eq!(
        token_columns,
        ["accessToken"],
        "a plain-text token, no hashed one"
    );
    let oauth = test_support::authenticator(
        &db.url,
        SECRET,
        &[
            ("BETTER_AUTH_METHODS", "oauth,session"),
            ("BETTER_AUTH_URL", "https://auth.example.com"),
            ("BETTER_AUTH_OAUTH_RESOURCES", "https://api.example.com"),
            ("BETTER_AUTH_OAUTH_REQUIRED_SCOPES", "read"),
        ],
    );
    oauth
        .database()
        .warm_up()
        .await
        .expect("the database answers and fits for sessions");
    let error = oauth.warm_up().await.expect_err("a start-up error");
    let message = error.to_string();
    assert!(
        message.contains("1.6") && message.contains("oidc-provider"),
        "{message}"
    );
    let sessions_only = test_support::authenticator(&db.url, SECRET, &[]);
    sessions_only
        .warm_up()
        .await
        .expect("the legacy tables do not matter without oauth");

    // No OAuth tables at all (the provider's migration not run yet): not a start-up error —
    // sessions go on working, OAuth tokens are refused per request.
    let plain = Profile::Default.database().await;
    let _plain_server = BetterAuthServer::start(&plain, defaults()).await;
    let oauth_on_plain = test_support::authenticator(
        &plain.url,
        SECRET,
        &[
            ("BETTER_AUTH_METHODS", "oauth,session"),
            ("BETTER_AUTH_URL", "https://auth.example.com"),
            ("BETTER_AUTH_OAUTH_RESOURCES", "https://api.example.com"),
            ("BETTER_AUTH_OAUTH_REQUIRED_SCOPES", "read"),
        ],
    );
    oauth_on_plain
        .warm_up()
        .await
        .expect("missing tables are an ERROR line, not a stop");
}
