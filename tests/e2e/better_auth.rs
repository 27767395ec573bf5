//! Compatibility with the real Better Auth server: for every flow, our authorizer's decision (in
//! all three event shapes) is compared with Better Auth's own `GET /api/auth/get-session` for the
//! same credential. Any difference fails the test unless it is one we document as deliberate
//! (bans written straight to the database: Better Auth keeps the session, we refuse it).

use std::time::Duration;

use auth_core::Authenticator;
use auth_core::signing::{Secret, sign_cookie_value};
use chrono::{DateTime, Utc};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use test_support::TestDb;
use test_support::better_auth::{
    BetterAuthServer, Credential, Profile, ServerOptions, SignedIn, Version,
};
use test_support::events::{Shape, event};
use test_support::redis::TestRedis;

const SECRET: &str = "compat-test-secret-0123456789abcdefghijklmnop";

/// Our authorizer's answer, reduced to what Better Auth can be compared with.
#[derive(Debug, Clone, PartialEq)]
enum Ours {
    /// Allow, with the context.
    Allow(Value),
    /// 401 (REST) or `isAuthorized: false` (HTTP API).
    Refused,
    /// A REST Deny policy (403).
    Deny,
    /// An error (500).
    Error,
}

struct Ctx {
    db: TestDb,
    ba: BetterAuthServer,
    auth: Authenticator,
    /// The settings our side was given (cookie prefix, secondary storage).
    vars: Vec<(String, String)>,
}

/// Better Auth with `secondaryStorage: redisStorage(...)` on a key prefix of the test's own:
/// sessions in Redis only, or (`store_in_database`) in both.
fn with_redis(profile: Profile, redis: &TestRedis, store_in_database: bool) -> ServerOptions {
    let mut options = ServerOptions::new(profile, SECRET);
    options.secondary_storage = Some((redis.url.clone(), redis.prefix.clone()));
    options.store_session_in_database = store_in_database;
    options
}

impl Ctx {
    async fn start(options: ServerOptions) -> Self {
        let db = options.profile.database().await;
        let ba = BetterAuthServer::start(&db, options.clone()).await;
        let prefix = options
            .cookie_prefix
            .clone()
            .unwrap_or_else(|| "better-auth".into());
        let mut vars = vec![
            ("BETTER_AUTH_COOKIE_PREFIX", prefix),
            (
                "BETTER_AUTH_SECURE_COOKIES",
                options.secure_cookies.to_string(),
            ),
        ];
        if let Some(name) = &options.session_cookie_name {
            vars.push(("BETTER_AUTH_SESSION_COOKIE_NAME", name.clone()));
        }
        if let Some((url, key_prefix)) = &options.secondary_storage {
            vars.push(("BETTER_AUTH_SECONDARY_STORAGE_URL", url.clone()));
            vars.push(("BETTER_AUTH_SECONDARY_STORAGE_PREFIX", key_prefix.clone()));
            if options.store_session_in_database {
                vars.push(("BETTER_AUTH_STORE_SESSION_IN_DATABASE", "true".into()));
            }
            if options.preserve_session_in_database {
                vars.push(("BETTER_AUTH_PRESERVE_SESSION_IN_DATABASE", "true".into()));
            }
        }
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let auth = test_support::authenticator(&db.url, &options.secret, &vars);
        Self {
            db,
            ba,
            auth,
            vars: vars
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    async fn ours(&self, shape: Shape, credential: &Credential) -> Ours {
        self.ours_with(&self.auth, shape, credential).await
    }

    /// Our settings plus `extra`.
    fn authenticator_with(&self, extra: &[(&str, &str)]) -> Authenticator {
        let mut vars: Vec<(&str, &str)> = self
            .vars
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        vars.extend_from_slice(extra);
        test_support::authenticator(&self.db.url, SECRET, &vars)
    }

    async fn ours_with(&self, auth: &Authenticator, shape: Shape, credential: &Credential) -> Ours {
        let (authorization, cookie) = credential.headers();
        let payload = event(shape, authorization.as_deref(), cookie.as_deref());
        let result =
            authorizer::handler::handle_json(auth, LambdaEvent::new(payload, Context::default()))
                .await;
        match result {
            Err(authorizer::handler::AuthorizerError::Unauthorized) => Ours::Refused,
            Err(authorizer::handler::AuthorizerError::Internal) => Ours::Error,
            Ok(v) if v["isAuthorized"] == json!(true) => Ours::Allow(v["context"].clone()),
            Ok(v) if v["isAuthorized"] == json!(false) => Ours::Refused,
            Ok(v) if v["policyDocument"]["Statement"][0]["Effect"] == json!("Allow") => {
                assert_eq!(v["principalId"], v["context"]["userId"]);
                Ours::Allow(v["context"].clone())
            }
            Ok(v) if v["policyDocument"]["Statement"][0]["Effect"] == json!("Deny") => Ours::Deny,
            Ok(v) => panic!("unexpected authorizer answer {v}"),
        }
    }

    /// Asserts that we and Better Auth agree on `credential`, in every event shape; returns the
    /// user id both see (None when both refuse).
    async fn agree(&self, case: &str, credential: &Credential) -> Option<String> {
        let theirs = self.ba.get_session(credential).await;
        let their_user = theirs
            .as_ref()
            .map(|s| s["user"]["id"].as_str().expect("user id").to_owned());
        for shape in Shape::ALL {
            let ours = self.ours(shape, credential).await;
            match (&their_user, &ours) {
                (Some(user), Ours::Allow(context)) if context["userId"] == json!(user) => {
                    let session = &theirs.as_ref().expect("session")["session"];
                    assert_eq!(context["sessionId"], session["id"], "{case}: session id");
                    assert_eq!(
                        context["email"],
                        theirs.as_ref().expect("s")["user"]["email"],
                        "{case}"
                    );
                    let theirs_expiry: DateTime<Utc> = session["expiresAt"]
                        .as_str()
                        .expect("expiresAt")
                        .parse()
                        .expect("date");
                    let ours_expiry: DateTime<Utc> = context["expiresAt"]
                        .as_str()
                        .expect("expiresAt")
                        .parse()
                        .expect("date");
                    assert_eq!(ours_expiry, theirs_expiry, "{case}: expiry ({shape:?})");
                }
                (None, Ours::Refused) => {}
                _ => panic!("{case} ({shape:?}): Better Auth says {their_user:?}, we say {ours:?}"),
            }
        }
        their_user
    }

    async fn agree_on_all(&self, case: &str, session: &SignedIn) -> Option<String> {
        let mut seen = Vec::new();
        for credential in session.credentials() {
            seen.push(
                self.agree(&format!("{case} {credential:?}"), &credential)
                    .await,
            );
        }
        assert!(
            seen.windows(2).all(|w| w[0] == w[1]),
            "{case}: the three credentials disagree"
        );
        seen.pop().flatten()
    }

    async fn make_admin(&self, user_id: &str) {
        let v = self.db.variant;
        let id_type = if v == test_support::Variant::RenamedSnakeUuid {
            "uuid"
        } else {
            "text"
        };
        let sql = format!(
            "UPDATE \"{}\" SET {} = 'admin' WHERE {} = CAST($1::text AS {id_type})",
            v.user_table(),
            v.col("role"),
            v.col("id")
        );
        self.db.execute(&sql, &[&user_id]).await;
    }
}

fn email(n: &str) -> String {
    format!(
        "{n}-{}@example.com",
        test_support::random_token(8).to_ascii_lowercase()
    )
}

/// Sign-up, sign-in, the three credential forms, context, sign-out.
async fn sign_in_flows(options: ServerOptions) {
    let profile = options.profile;
    let ctx = Ctx::start(options).await;
    let alice = email("alice");
    let first = ctx.ba.sign_up(&alice).await;
    assert_eq!(
        ctx.agree_on_all("after sign-up", &first).await.as_deref(),
        Some(first.user_id.as_str())
    );
    let second = ctx.ba.sign_in(&alice).await;
    assert_ne!(second.token, first.token);
    assert_eq!(
        ctx.agree_on_all("after sign-in", &second).await.as_deref(),
        Some(first.user_id.as_str())
    );

    let context = match ctx
        .ours(
            Shape::RestRequest,
            &Credential::Cookie(second.cookie.clone()),
        )
        .await
    {
        Ours::Allow(context) => context,
        other => panic!("expected allow, got {other:?}"),
    };
    assert_eq!(context["email"], json!(alice));
    assert_eq!(
        context["role"],
        json!(if profile.has_admin() { "user" } else { "" })
    );
    assert_eq!(context["emailVerified"], json!(false));

    let reply = ctx
        .ba
        .post(
            "/sign-out",
            json!({}),
            Some(&Credential::Cookie(first.cookie.clone())),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(ctx.agree_on_all("after sign-out", &first).await, None);
    assert_eq!(
        ctx.agree_on_all("the other session after sign-out", &second)
            .await
            .as_deref(),
        Some(first.user_id.as_str())
    );
}

#[tokio::test]
async fn default_profile_sign_in_flows_agree() {
    sign_in_flows(ServerOptions::new(Profile::Default, SECRET)).await;
}

#[tokio::test]
async fn renamed_profile_sign_in_flows_agree() {
    sign_in_flows(ServerOptions::new(Profile::Renamed, SECRET)).await;
}

#[tokio::test]
async fn drizzle_profile_sign_in_flows_agree() {
    sign_in_flows(ServerOptions::new(Profile::Drizzle, SECRET)).await;
}

#[tokio::test]
async fn no_admin_profile_sign_in_flows_agree() {
    sign_in_flows(ServerOptions::new(Profile::NoAdmin, SECRET)).await;
}

#[tokio::test]
async fn secure_and_prefixed_cookies_agree() {
    let mut options = ServerOptions::new(Profile::Default, SECRET);
    options.secure_cookies = true;
    options.cookie_prefix = Some("myapp".into());
    let ctx = Ctx::start(options).await;
    let session = ctx.ba.sign_up(&email("secure")).await;
    assert!(
        session.cookie.starts_with("__Secure-myapp.session_token="),
        "{}",
        session.cookie
    );
    assert!(ctx.agree_on_all("secure cookie", &session).await.is_some());
}

/// `advanced.cookies.session_token.name`: the cookie renamed entirely, plain and `__Secure-`.
#[tokio::test]
async fn a_renamed_session_cookie_agrees() {
    for secure in [false, true] {
        let mut options = ServerOptions::new(Profile::Default, SECRET);
        options.session_cookie_name = Some("app_sid".into());
        options.secure_cookies = secure;
        let ctx = Ctx::start(options).await;
        let session = ctx.ba.sign_up(&email("rena")).await;
        let expected = if secure {
            "__Secure-app_sid="
        } else {
            "app_sid="
        };
        assert!(session.cookie.starts_with(expected), "{}", session.cookie);
        assert!(ctx.agree_on_all("renamed cookie", &session).await.is_some());
        // The default name is not read.
        let value = session.cookie.split_once('=').expect("pair").1;
        let default_name = Credential::Cookie(format!("better-auth.session_token={value}"));
        assert_eq!(ctx.agree("the default name", &default_name).await, None);
    }
}

/// Both a plain and a `__Secure-` session cookie: Better Auth reads the one its configuration
/// names, and so do we (`BETTER_AUTH_SECURE_COOKIES`); multi-session cookies change nothing.
#[tokio::test]
async fn the_cookie_better_auth_reads_is_the_one_we_read() {
    for secure in [false, true] {
        let mut options = ServerOptions::new(Profile::Default, SECRET);
        options.secure_cookies = secure;
        options.multi_session = true;
        let ctx = Ctx::start(options).await;
        let active = ctx.ba.sign_up(&email("pia")).await;
        let other = ctx.ba.sign_up(&email("quinn")).await;
        let value = |s: &SignedIn| s.cookie.split_once('=').expect("pair").1.to_owned();
        let (active_name, other_name) = if secure {
            (
                "__Secure-better-auth.session_token",
                "better-auth.session_token",
            )
        } else {
            (
                "better-auth.session_token",
                "__Secure-better-auth.session_token",
            )
        };
        let pair = Credential::Cookie(format!(
            "{other_name}={}; {active_name}={}",
            value(&other),
            value(&active)
        ));
        assert_eq!(
            ctx.agree("a plain and a __Secure- cookie", &pair).await,
            Some(active.user_id.clone()),
            "secure: {secure}"
        );
        // multi-session keeps every signed-in account in `<name>_multi-<token>` cookies.
        let multi = Credential::Cookie(format!(
            "{active_name}={}; {active_name}_multi-{}={}",
            value(&active),
            other.token.to_lowercase(),
            value(&other)
        ));
        assert_eq!(
            ctx.agree("multi-session cookies", &multi).await,
            Some(active.user_id.clone())
        );
    }
}

#[tokio::test]
async fn revocations_agree() {
    revocation_flows(ServerOptions::new(Profile::Default, SECRET)).await;
}

/// Revoke one, others, all (Better Auth's own endpoints), then both sides refuse.
async fn revocation_flows(options: ServerOptions) {
    let ctx = Ctx::start(options).await;
    let bob = email("bob");
    let s1 = ctx.ba.sign_up(&bob).await;
    let s2 = ctx.ba.sign_in(&bob).await;
    let s3 = ctx.ba.sign_in(&bob).await;
    let s4 = ctx.ba.sign_in(&bob).await;
    let as_s1 = Credential::Cookie(s1.cookie.clone());

    let reply = ctx
        .ba
        .post("/revoke-session", json!({"token": s2.token}), Some(&as_s1))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(ctx.agree_on_all("revoked session", &s2).await, None);
    assert!(
        ctx.agree_on_all("the revoking session", &s1)
            .await
            .is_some()
    );

    let reply = ctx
        .ba
        .post("/revoke-other-sessions", json!({}), Some(&as_s1))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(ctx.agree_on_all("other session s3", &s3).await, None);
    assert_eq!(ctx.agree_on_all("other session s4", &s4).await, None);
    assert!(
        ctx.agree_on_all("the session that kept itself", &s1)
            .await
            .is_some()
    );

    let s5 = ctx.ba.sign_in(&bob).await;
    let reply = ctx
        .ba
        .post(
            "/revoke-sessions",
            json!({}),
            Some(&Credential::Cookie(s5.cookie.clone())),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(ctx.agree_on_all("all revoked: s1", &s1).await, None);
    assert_eq!(ctx.agree_on_all("all revoked: s5", &s5).await, None);
}

async fn ban_flows(options: ServerOptions) {
    let ctx = Ctx::start(options).await;
    let admin_email = email("admin");
    let admin = ctx.ba.sign_up(&admin_email).await;
    ctx.make_admin(&admin.user_id).await;
    let as_admin = Credential::Cookie(ctx.ba.sign_in(&admin_email).await.cookie);
    let carol = email("carol");
    let victim = ctx.ba.sign_up(&carol).await;
    assert!(ctx.agree_on_all("before the ban", &victim).await.is_some());

    let reply = ctx
        .ba
        .post(
            "/admin/ban-user",
            json!({"userId": victim.user_id}),
            Some(&as_admin),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(ctx.agree_on_all("banned", &victim).await, None);
    let refused = ctx.ba.sign_in_reply(&carol).await;
    assert_eq!(
        (refused.status, refused.body["code"].as_str()),
        (403, Some("BANNED_USER"))
    );

    let reply = ctx
        .ba
        .post(
            "/admin/unban-user",
            json!({"userId": victim.user_id}),
            Some(&as_admin),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let back = ctx.ba.sign_in(&carol).await;
    assert!(
        ctx.agree_on_all("unbanned and signed in", &back)
            .await
            .is_some()
    );

    let reply = ctx
        .ba
        .post(
            "/admin/ban-user",
            json!({"userId": victim.user_id, "banExpiresIn": 1}),
            Some(&as_admin),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(ctx.agree_on_all("banned for a second", &back).await, None);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let after = ctx.ba.sign_in(&carol).await;
    assert!(
        ctx.agree_on_all("after the ban expired", &after)
            .await
            .is_some()
    );
}

#[tokio::test]
async fn default_profile_bans_agree() {
    ban_flows(ServerOptions::new(Profile::Default, SECRET)).await;
}

#[tokio::test]
async fn renamed_profile_bans_agree() {
    ban_flows(ServerOptions::new(Profile::Renamed, SECRET)).await;
}

#[tokio::test]
async fn drizzle_profile_bans_agree() {
    ban_flows(ServerOptions::new(Profile::Drizzle, SECRET)).await;
}

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

/// Deliberate difference: Better Auth's get-session never checks `banned`, so a ban written
/// straight to the database leaves the session alive there. We refuse it (REST: Deny, 403).
#[tokio::test]
async fn a_ban_written_to_the_database_is_refused_by_us_only() {
    let ctx = Ctx::start(ServerOptions::new(Profile::Default, SECRET)).await;
    let dave = ctx.ba.sign_up(&email("dave")).await;
    ctx.db
        .execute(
            "UPDATE \"user\" SET banned = true WHERE id = $1",
            &[&dave.user_id],
        )
        .await;
    for credential in dave.credentials() {
        let theirs = ctx.ba.get_session(&credential).await;
        assert!(
            theirs.is_some(),
            "Better Auth still answers with the session"
        );
        assert_eq!(ctx.ours(Shape::RestRequest, &credential).await, Ours::Deny);
        assert_eq!(ctx.ours(Shape::RestToken, &credential).await, Ours::Deny);
        assert_eq!(ctx.ours(Shape::HttpV2, &credential).await, Ours::Refused);
    }
}

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

async fn sliding_refresh_on(keeping: &str, version: Version) {
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

/// Plugin fields (anonymous, username) and an app field (`plan`, with
/// `BETTER_AUTH_CONTEXT_USER_FIELDS`) reach the context from every source: the session row, a
/// JWT, a cookie cache; anonymous guests can be refused.
#[tokio::test]
async fn user_fields_reach_the_context_and_guests_can_be_refused() {
    let mut options = ServerOptions::new(Profile::Default, SECRET);
    options.user_plugins = true;
    options.cookie_cache = Some("compact");
    let ctx = Ctx::start(options).await;
    let vera = ctx
        .ba
        .post(
            "/sign-up/email",
            json!({"email": email("vera"), "password": "correct horse battery", "name": "Vera", "username": "vera_v"}),
            None,
        )
        .await;
    assert_eq!(vera.status, 200, "{}", vera.body);
    let cookie = vera.session_cookie.clone().expect("session cookie");
    let base_url = ctx.ba.base_url.clone();
    let plan = ctx.authenticator_with(&[("BETTER_AUTH_CONTEXT_USER_FIELDS", "plan")]);
    let context_of = |ours: Ours| match ours {
        Ours::Allow(context) => context,
        other => panic!("{other:?}"),
    };
    // The session row.
    let context = context_of(
        ctx.ours_with(&plan, Shape::HttpV2, &Credential::Cookie(cookie.clone()))
            .await,
    );
    assert_eq!(context["username"], "vera_v");
    assert_eq!(context["isAnonymous"], "false");
    assert_eq!(context["plan"], "free");
    assert!(context.get("image").is_none(), "only the named fields");
    // Without the setting, the plugin fields only.
    let plain = context_of(
        ctx.ours(Shape::RestRequest, &Credential::Cookie(cookie.clone()))
            .await,
    );
    assert_eq!(plain["username"], "vera_v");
    assert!(plain.get("plan").is_none());
    // A JWT (its payload is the user) and the cookie cache (a user snapshot).
    let jwt = ctx.ba.jwt(&Credential::Cookie(cookie.clone())).await;
    let stateless = ctx.authenticator_with(&[
        ("BETTER_AUTH_CONTEXT_USER_FIELDS", "plan"),
        ("BETTER_AUTH_METHODS", "jwt,cookie-cache,session"),
        ("BETTER_AUTH_URL", base_url.as_str()),
        ("BETTER_AUTH_SECURE_COOKIES", "false"),
    ]);
    let from_jwt = context_of(
        ctx.ours_with(&stateless, Shape::HttpV2, &Credential::Bearer(jwt))
            .await,
    );
    assert_eq!(
        (
            from_jwt["verifiedBy"].clone(),
            from_jwt["username"].clone(),
            from_jwt["plan"].clone()
        ),
        (json!("jwt"), json!("vera_v"), json!("free"))
    );
    let with_cache = ctx.ba.with_cookie_cache(&cookie).await;
    let from_cache = context_of(
        ctx.ours_with(&stateless, Shape::HttpV2, &Credential::Cookie(with_cache))
            .await,
    );
    assert_eq!(
        (
            from_cache["verifiedBy"].clone(),
            from_cache["username"].clone(),
            from_cache["plan"].clone()
        ),
        (json!("cookie-cache"), json!("vera_v"), json!("free"))
    );

    // An anonymous guest: Better Auth accepts the session; we do too, saying so, unless told
    // to refuse guests.
    let guest = ctx.ba.post("/sign-in/anonymous", json!({}), None).await;
    assert_eq!(guest.status, 200, "{}", guest.body);
    let guest = Credential::Cookie(guest.session_cookie.clone().expect("cookie"));
    assert!(ctx.ba.get_session(&guest).await.is_some());
    assert_eq!(
        context_of(ctx.ours(Shape::HttpV2, &guest).await)["isAnonymous"],
        "true"
    );
    let strict = ctx.authenticator_with(&[("BETTER_AUTH_REFUSE_ANONYMOUS", "true")]);
    match ctx.ours_with(&strict, Shape::RestRequest, &guest).await {
        Ours::Deny => {}
        other => panic!("a guest with BETTER_AUTH_REFUSE_ANONYMOUS: {other:?}"),
    }
    assert!(matches!(
        ctx.ours_with(&strict, Shape::HttpV2, &Credential::Cookie(cookie))
            .await,
        Ours::Allow(_)
    ));
}

#[tokio::test]
async fn foreign_and_forged_credentials_are_refused_by_both() {
    let ctx = Ctx::start(ServerOptions::new(Profile::Default, SECRET)).await;
    let frank = ctx.ba.sign_up(&email("frank")).await;

    let other_secret = sign_cookie_value(
        &Secret::new("a-different-secret-0123456789abcdefghijkl"),
        &frank.token,
    );
    let forged = Credential::Cookie(format!("better-auth.session_token={other_secret}"));
    assert_eq!(
        ctx.agree("cookie signed with another secret", &forged)
            .await,
        None
    );

    // A session from another Better Auth deployment (another database, same secret).
    let elsewhere = Ctx::start(ServerOptions::new(Profile::Default, SECRET)).await;
    let stranger = elsewhere.ba.sign_up(&email("stranger")).await;
    for credential in stranger.credentials() {
        assert_eq!(
            ctx.agree("token from another database", &credential).await,
            None
        );
    }

    ctx.db
        .execute("DELETE FROM \"user\" WHERE id = $1", &[&frank.user_id])
        .await;
    assert_eq!(ctx.agree_on_all("deleted user", &frank).await, None);
}

mod functions {
    //! Our account-management functions acting on a real Better Auth deployment, with sessions
    //! in the database, in Redis only, in Redis and the database, and in Redis with preserved
    //! rows: whatever we change, Better Auth sees.

    use super::*;
    use test_support::http::{Api, ApiRequest, send};

    /// The browser app's origin: cookie-authenticated writes come from it, as JSON.
    const APP_ORIGIN: &str = "https://app.example.com";

    /// Where Better Auth keeps sessions in a test.
    #[derive(Debug, Clone, Copy)]
    enum Keeping {
        Database,
        RedisOnly,
        RedisAndDatabase,
        RedisAndPreservedRows,
    }

    struct Deployment {
        ctx: Ctx,
        app: account_api::http::App,
        _redis: Option<TestRedis>,
    }

    async fn deploy_on(keeping: Keeping, version: Version) -> Deployment {
        let redis = match keeping {
            Keeping::Database => None,
            _ => Some(TestRedis::new()),
        };
        let options = match (&redis, keeping) {
            (None, _) => ServerOptions::new(Profile::Default, SECRET),
            (Some(redis), Keeping::RedisOnly) => with_redis(Profile::Default, redis, false),
            (Some(redis), Keeping::RedisAndDatabase) => with_redis(Profile::Default, redis, true),
            (Some(redis), _) => {
                let mut options = with_redis(Profile::Default, redis, true);
                options.preserve_session_in_database = true;
                options
            }
        };
        let mut options = options;
        options.version = version;
        let ctx = Ctx::start(options.clone()).await;
        let mut vars = ctx.vars.clone();
        vars.extend([
            ("DATABASE_URL".to_owned(), ctx.db.url.clone()),
            ("BETTER_AUTH_SECRET".to_owned(), options.secret.clone()),
            ("CORS_ALLOWED_ORIGINS".to_owned(), APP_ORIGIN.to_owned()),
        ]);
        let app = account_api::http::App::from_lookup(|k| {
            vars.iter()
                .find(|(name, _)| name == k)
                .map(|(_, v)| v.clone())
        })
        .expect("app");
        Deployment {
            ctx,
            app,
            _redis: redis,
        }
    }

    impl Deployment {
        /// An admin, signed in after being made one (a Redis snapshot holds the role it was
        /// signed in with).
        async fn admin(&self) -> SignedIn {
            let admin_email = email("admin");
            let admin = self.ctx.ba.sign_up(&admin_email).await;
            self.ctx.make_admin(&admin.user_id).await;
            self.ctx.ba.sign_in(&admin_email).await
        }

        async fn alive(&self, session: &SignedIn) -> bool {
            self.ctx
                .ba
                .get_session(&Credential::Cookie(session.cookie.clone()))
                .await
                .is_some()
        }

        async fn session_id(&self, session: &SignedIn) -> String {
            self.ctx
                .ba
                .get_session(&Credential::Cookie(session.cookie.clone()))
                .await
                .expect("session")["session"]["id"]
                .as_str()
                .expect("id")
                .to_owned()
        }
    }

    async fn a_ban_here_makes_better_auth_refuse(keeping: Keeping) {
        a_ban_here_makes_better_auth_refuse_on(keeping, Version::V1_7).await;
    }

    async fn a_ban_here_makes_better_auth_refuse_on(keeping: Keeping, version: Version) {
        let d = deploy_on(keeping, version).await;
        let admin = d.admin().await;
        let victim_email = email("victim");
        let victim = d.ctx.ba.sign_up(&victim_email).await;
        let other = d.ctx.ba.sign_in(&victim_email).await;
        // The admin calls us with their real Better Auth cookie (no authorizer in front).
        let request = ApiRequest::new(Api::Http, "POST", &format!("/users/{}/ban", victim.user_id))
            .header("cookie", &admin.cookie)
            .header("origin", APP_ORIGIN)
            .json(&json!({"banReason": "spam"}));
        let reply = send(users::handler::handle, &d.app, &request).await;
        assert_eq!(reply.status, 200, "{keeping:?}: {}", reply.body);
        let refused = d.ctx.ba.sign_in_reply(&victim_email).await;
        assert_eq!(
            (refused.status, refused.body["code"].as_str()),
            (403, Some("BANNED_USER")),
            "{keeping:?}"
        );
        assert_eq!(
            d.ctx.agree_on_all("banned through our API", &victim).await,
            None,
            "{keeping:?}"
        );
        assert_eq!(
            d.ctx
                .agree_on_all("banned: the other session", &other)
                .await,
            None
        );
        assert!(
            d.alive(&admin).await,
            "{keeping:?}: the admin's session stays"
        );

        // Unbanned here: Better Auth lets them in again, and both accept the new session.
        let unban = ApiRequest::new(
            Api::Http,
            "DELETE",
            &format!("/users/{}/ban", victim.user_id),
        )
        .header("cookie", &admin.cookie)
        .header("origin", APP_ORIGIN)
        .header("content-type", "application/json");
        assert_eq!(
            send(users::handler::handle, &d.app, &unban).await.status,
            200
        );
        let back = d.ctx.ba.sign_in(&victim_email).await;
        assert!(d.ctx.agree_on_all("unbanned here", &back).await.is_some());
    }

    async fn sessions_listed_and_revoked_here_are_gone_for_better_auth(keeping: Keeping) {
        sessions_listed_and_revoked_here_are_gone_for_better_auth_on(keeping, Version::V1_7).await;
    }

    async fn sessions_listed_and_revoked_here_are_gone_for_better_auth_on(
        keeping: Keeping,
        version: Version,
    ) {
        let d = deploy_on(keeping, version).await;
        let grace = email("grace");
        let first = d.ctx.ba.sign_up(&grace).await;
        let second = d.ctx.ba.sign_in(&grace).await;
        let bearer = format!("Bearer {}", first.token);
        let sessions_path = format!("/users/{}/sessions", first.user_id);

        // Our list is Better Auth's list.
        let ours = send(
            sessions::handler::handle,
            &d.app,
            &ApiRequest::new(Api::Rest, "GET", &sessions_path).header("authorization", &bearer),
        )
        .await;
        assert_eq!(ours.status, 200, "{keeping:?}: {}", ours.body);
        let theirs = d
            .ctx
            .ba
            .request(
                "GET",
                "/list-sessions",
                None,
                Some(&Credential::Cookie(first.cookie.clone())),
            )
            .await;
        assert_eq!(theirs.status, 200, "{}", theirs.body);
        let ids = |list: &Value| {
            let mut ids: Vec<String> = list
                .as_array()
                .expect("a list")
                .iter()
                .map(|s| s["id"].as_str().expect("id").to_owned())
                .collect();
            ids.sort();
            ids
        };
        assert_eq!(
            ids(&ours.body["sessions"]),
            ids(&theirs.body),
            "{keeping:?}"
        );
        assert_eq!(ids(&ours.body["sessions"]).len(), 2);
        let current: Vec<&Value> = ours.body["sessions"]
            .as_array()
            .expect("list")
            .iter()
            .filter(|s| s["current"] == json!(true))
            .collect();
        assert_eq!(
            current.len(),
            1,
            "{keeping:?}: the caller's own session is marked"
        );

        // Our /auth/session is Better Auth's get-session, without the token.
        let mine = send(
            me::handler::handle,
            &d.app,
            &ApiRequest::new(Api::Rest, "GET", "/auth/session").header("authorization", &bearer),
        )
        .await;
        assert_eq!(mine.status, 200, "{keeping:?}: {}", mine.body);
        assert_eq!(
            mine.body["session"]["id"],
            json!(d.session_id(&first).await)
        );
        assert!(mine.body["session"].get("token").is_none());

        // Revoke one.
        let second_id = d.session_id(&second).await;
        let revoke = ApiRequest::new(Api::Rest, "DELETE", &format!("{sessions_path}/{second_id}"))
            .header("authorization", &bearer);
        let reply = send(sessions::handler::handle, &d.app, &revoke.clone()).await;
        assert_eq!(reply.status, 200, "{keeping:?}: {}", reply.body);
        assert_eq!(d.ctx.agree_on_all("revoked here", &second).await, None);
        assert!(d.alive(&first).await, "{keeping:?}");
        let again = send(sessions::handler::handle, &d.app, &revoke).await;
        assert_eq!(again.status, 404, "{keeping:?}: already gone");

        // Revoke the others, keeping the caller's.
        let third = d.ctx.ba.sign_in(&grace).await;
        let keep = ApiRequest::new(Api::Rest, "DELETE", &sessions_path)
            .query("keepCurrent", "true")
            .header("cookie", &first.cookie)
            .header("origin", APP_ORIGIN)
            .header("content-type", "application/json");
        let reply = send(sessions::handler::handle, &d.app, &keep).await;
        assert_eq!(
            reply.body,
            json!({"success": true, "revoked": 1}),
            "{keeping:?}"
        );
        assert_eq!(d.ctx.agree_on_all("another session", &third).await, None);
        assert!(
            d.ctx
                .agree_on_all("the kept session", &first)
                .await
                .is_some()
        );

        // Better Auth's list agrees again, then everything goes.
        let theirs = d
            .ctx
            .ba
            .request(
                "GET",
                "/list-sessions",
                None,
                Some(&Credential::Cookie(first.cookie.clone())),
            )
            .await;
        assert_eq!(
            ids(&theirs.body),
            vec![d.session_id(&first).await],
            "{keeping:?}"
        );
        let fourth = d.ctx.ba.sign_in(&grace).await;
        let all =
            ApiRequest::new(Api::Rest, "DELETE", &sessions_path).header("authorization", &bearer);
        let reply = send(sessions::handler::handle, &d.app, &all).await;
        assert_eq!(
            reply.body,
            json!({"success": true, "revoked": 2}),
            "{keeping:?}"
        );
        assert_eq!(d.ctx.agree_on_all("all revoked: first", &first).await, None);
        assert_eq!(
            d.ctx.agree_on_all("all revoked: fourth", &fourth).await,
            None
        );
        let fresh = d.ctx.ba.sign_in(&grace).await;
        assert!(
            d.ctx
                .agree_on_all("signed in after revoke-all", &fresh)
                .await
                .is_some(),
            "{keeping:?}: a new session is not under the revocation"
        );
    }

    async fn a_role_set_here_is_what_better_auth_reports(keeping: Keeping) {
        a_role_set_here_is_what_better_auth_reports_on(keeping, Version::V1_7).await;
    }

    async fn a_role_set_here_is_what_better_auth_reports_on(keeping: Keeping, version: Version) {
        let d = deploy_on(keeping, version).await;
        let admin = d.admin().await;
        let heidi = d.ctx.ba.sign_up(&email("heidi")).await;
        let request = ApiRequest::new(Api::Rest, "PUT", &format!("/users/{}/role", heidi.user_id))
            .header("cookie", &admin.cookie)
            .header("origin", APP_ORIGIN)
            .json(&json!({"role": ["admin", "user"]}));
        let reply = send(users::handler::handle, &d.app, &request).await;
        assert_eq!(
            (reply.status, reply.body["user"]["role"].clone()),
            (200, json!("admin,user")),
            "{keeping:?}"
        );
        let theirs = d
            .ctx
            .ba
            .request(
                "GET",
                &format!("/admin/get-user?id={}", heidi.user_id),
                None,
                Some(&Credential::Cookie(admin.cookie.clone())),
            )
            .await;
        assert_eq!(theirs.status, 200, "{}", theirs.body);
        assert_eq!(theirs.body["role"], "admin,user");
        // Her existing session now carries the role, for Better Auth (whose admin API lets her
        // in) and for our authorizer.
        let as_heidi = Credential::Cookie(heidi.cookie.clone());
        let session = d.ctx.ba.get_session(&as_heidi).await.expect("session");
        assert_eq!(session["user"]["role"], "admin,user", "{keeping:?}");
        let listed = d
            .ctx
            .ba
            .request("GET", "/admin/list-users", None, Some(&as_heidi))
            .await;
        assert_eq!(listed.status, 200, "{keeping:?}: {}", listed.body);
        match d.ctx.ours(Shape::HttpV2, &as_heidi).await {
            Ours::Allow(context) => assert_eq!(context["role"], "admin,user", "{keeping:?}"),
            other => panic!("{keeping:?}: {other:?}"),
        }

        // A name changed here too.
        let rename = ApiRequest::new(Api::Rest, "PATCH", &format!("/users/{}", heidi.user_id))
            .header("authorization", &format!("Bearer {}", heidi.token))
            .json(&json!({"name": "Heidi Renamed"}));
        assert_eq!(
            send(users::handler::handle, &d.app, &rename).await.status,
            200
        );
        let session = d.ctx.ba.get_session(&as_heidi).await.expect("session");
        assert_eq!(session["user"]["name"], "Heidi Renamed", "{keeping:?}");
    }

    macro_rules! in_every_keeping {
        ($($flow:ident => $($name:ident: $keeping:ident),+;)+) => {$($(
            #[tokio::test]
            async fn $name() {
                $flow(Keeping::$keeping).await;
            }
        )+)+};
    }

    /// Our functions acting on the latest Better Auth 1.6.
    #[tokio::test]
    async fn on_better_auth_1_6() {
        for keeping in [Keeping::Database, Keeping::RedisOnly] {
            a_ban_here_makes_better_auth_refuse_on(keeping, Version::V1_6).await;
            sessions_listed_and_revoked_here_are_gone_for_better_auth_on(keeping, Version::V1_6)
                .await;
            a_role_set_here_is_what_better_auth_reports_on(keeping, Version::V1_6).await;
        }
    }

    in_every_keeping! {
        a_ban_here_makes_better_auth_refuse =>
            ban_here_database: Database,
            ban_here_redis_only: RedisOnly,
            ban_here_redis_and_database: RedisAndDatabase,
            ban_here_redis_and_preserved_rows: RedisAndPreservedRows;
        sessions_listed_and_revoked_here_are_gone_for_better_auth =>
            revoke_here_database: Database,
            revoke_here_redis_only: RedisOnly,
            revoke_here_redis_and_database: RedisAndDatabase,
            revoke_here_redis_and_preserved_rows: RedisAndPreservedRows;
        a_role_set_here_is_what_better_auth_reports =>
            role_here_database: Database,
            role_here_redis_only: RedisOnly,
            role_here_redis_and_database: RedisAndDatabase;
    }
}

/// The same flows against the latest Better Auth 1.6 (`tests/better-auth-1.6`).
mod on_1_6 {
    use super::*;

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
}

/// The organization plugin: the context carries the active organization, its slug, the member's
/// roles and the active team only while Better Auth's own membership tables confirm them; a stale
/// pointer (member removed, organization deleted) grants nothing, whichever store keeps the
/// session.
async fn organization_flows(keeping: &str, version: Version) {
    let redis = TestRedis::new();
    let mut options = match keeping {
        "database" => ServerOptions::new(Profile::Default, SECRET),
        _ => with_redis(Profile::Default, &redis, false),
    };
    options.organizations = true;
    options.version = version;
    options.cookie_cache = Some("compact");
    let ctx = Ctx::start(options).await;
    let requiring = ctx.authenticator_with(&[("BETTER_AUTH_REQUIRE_ACTIVE_ORGANIZATION", "true")]);
    let context_of = |ours: Ours| match ours {
        Ours::Allow(context) => context,
        other => panic!("expected an Allow, got {other:?}"),
    };
    let org_fields = |context: &Value| {
        [
            "activeOrganizationId",
            "organizationSlug",
            "organizationRole",
            "activeTeamId",
        ]
        .map(|f| context.get(f).cloned().unwrap_or(Value::Null))
    };
    let (olga_email, mia_email) = (email("olga"), email("mia"));
    let owner = ctx.ba.sign_up(&olga_email).await;
    let owner_cookie = Credential::Cookie(owner.cookie.clone());
    let mia = ctx.ba.sign_up(&mia_email).await;
    let mia_cookie = Credential::Cookie(mia.cookie.clone());

    // No organization yet: nothing in the context; refused when one is required.
    let before = context_of(ctx.ours(Shape::HttpV2, &owner_cookie).await);
    assert_eq!(
        org_fields(&before),
        [Value::Null, Value::Null, Value::Null, Value::Null]
    );
    assert_eq!(
        ctx.ours_with(&requiring, Shape::RestRequest, &owner_cookie)
            .await,
        Ours::Deny
    );

    // Creating an organization makes it the creator's active one.
    let slug = format!("acme-{}", &owner.user_id[..8].to_lowercase());
    let created = ctx
        .ba
        .post_ok(
            "/organization/create",
            json!({"name": "Acme", "slug": slug}),
            &owner_cookie,
        )
        .await;
    let org_id = created["id"].as_str().expect("organization id").to_owned();
    let full = ctx
        .ba
        .get("/organization/get-full-organization", &owner_cookie)
        .await;
    assert_eq!(full.body["id"], json!(org_id.clone()), "{}", full.body);
    // With teams, Better Auth also makes a default team and puts the creator on it.
    let owner_session = ctx.ba.get_session(&owner_cookie).await.expect("a session");
    let owner_context = context_of(ctx.ours(Shape::RestRequest, &owner_cookie).await);
    assert_eq!(
        org_fields(&owner_context),
        [
            json!(org_id.clone()),
            full.body["slug"].clone(),
            json!("owner"),
            owner_session["session"]["activeTeamId"].clone()
        ]
    );

    // A cookie cache is a snapshot: it carries no organization, and when one is required it
    // passes on to the session lookup, which confirms the membership.
    let with_cache = Credential::Cookie(ctx.ba.with_cookie_cache(&owner.cookie).await);
    let cache_first = ctx.authenticator_with(&[("BETTER_AUTH_METHODS", "cookie-cache,session")]);
    let from_cache = context_of(
        ctx.ours_with(&cache_first, Shape::HttpV2, &with_cache)
            .await,
    );
    assert_eq!(from_cache["verifiedBy"], "cookie-cache");
    assert!(from_cache.get("activeOrganizationId").is_none());
    let cache_then_membership = ctx.authenticator_with(&[
        ("BETTER_AUTH_METHODS", "cookie-cache,session"),
        ("BETTER_AUTH_REQUIRE_ACTIVE_ORGANIZATION", "true"),
    ]);
    let confirmed = context_of(
        ctx.ours_with(&cache_then_membership, Shape::HttpV2, &with_cache)
            .await,
    );
    assert_eq!(
        (
            confirmed["verifiedBy"].clone(),
            confirmed["activeOrganizationId"].clone()
        ),
        (json!("session"), json!(org_id.clone()))
    );

    // An invitation accepted: the new member's session is in the organization, as a member.
    let invitation = ctx
        .ba
        .post_ok(
            "/organization/invite-member",
            json!({"email": mia_email.clone(), "role": "member", "organizationId": org_id.clone()}),
            &owner_cookie,
        )
        .await;
    ctx.ba
        .post_ok(
            "/organization/accept-invitation",
            json!({"invitationId": invitation["id"].clone()}),
            &mia_cookie,
        )
        .await;
    let active_member = ctx
        .ba
        .get("/organization/get-active-member", &mia_cookie)
        .await;
    assert_eq!(active_member.status, 200, "{}", active_member.body);
    let mia_context = context_of(ctx.ours(Shape::HttpV2, &mia_cookie).await);
    assert_eq!(mia_context["activeOrganizationId"], json!(org_id.clone()));
    assert_eq!(mia_context["organizationRole"], active_member.body["role"]);
    assert_eq!(mia_context["organizationRole"], "member");
    assert_eq!(
        context_of(ctx.ours_with(&requiring, Shape::HttpV2, &mia_cookie).await)["userId"],
        json!(mia.user_id.clone())
    );

    // A team: active only once the member is on it.
    let team = ctx
        .ba
        .post_ok(
            "/organization/create-team",
            json!({"name": "Ops", "organizationId": org_id.clone()}),
            &owner_cookie,
        )
        .await;
    let team_id = team["id"].as_str().expect("team id").to_owned();
    ctx.ba
        .post_ok(
            "/organization/add-team-member",
            json!({"teamId": team_id.clone(), "userId": mia.user_id.clone()}),
            &owner_cookie,
        )
        .await;
    ctx.ba
        .post_ok(
            "/organization/set-active-team",
            json!({"teamId": team_id.clone()}),
            &mia_cookie,
        )
        .await;
    let on_team = context_of(ctx.ours(Shape::RestToken, &mia_cookie).await);
    assert_eq!(on_team["activeTeamId"], json!(team_id.clone()));

    // Removed by the owner: Better Auth leaves Mia's session pointing at the organization, but
    // the membership is gone; so is everything it granted.
    ctx.ba
        .post_ok(
            "/organization/remove-member",
            json!({"memberIdOrEmail": mia_email.clone(), "organizationId": org_id.clone()}),
            &owner_cookie,
        )
        .await;
    let stale = ctx
        .ba
        .get("/organization/get-active-member", &mia_cookie)
        .await;
    assert_ne!(
        stale.status, 200,
        "Better Auth: no longer a member: {}",
        stale.body
    );
    let pointer = ctx.ba.get_session(&mia_cookie).await.expect("a session");
    assert_eq!(
        pointer["session"]["activeOrganizationId"],
        json!(org_id.clone()),
        "the session still points at the organization"
    );
    let after = context_of(ctx.ours(Shape::HttpV2, &mia_cookie).await);
    assert_eq!(
        after["userId"],
        json!(mia.user_id.clone()),
        "still signed in"
    );
    assert_eq!(
        org_fields(&after),
        [Value::Null, Value::Null, Value::Null, Value::Null]
    );
    assert!(matches!(
        ctx.ours_with(&requiring, Shape::HttpV2, &mia_cookie).await,
        Ours::Refused
    ));

    // Deleted: the owner's other session still points at it, and gets nothing from it.
    let second = ctx.ba.sign_in(&olga_email).await;
    let second_cookie = Credential::Cookie(second.cookie.clone());
    ctx.ba
        .post_ok(
            "/organization/set-active",
            json!({"organizationId": org_id.clone()}),
            &second_cookie,
        )
        .await;
    assert_eq!(
        context_of(ctx.ours(Shape::HttpV2, &second_cookie).await)["organizationRole"],
        "owner"
    );
    ctx.ba
        .post_ok(
            "/organization/delete",
            json!({"organizationId": org_id.clone()}),
            &owner_cookie,
        )
        .await;
    let pointer = ctx.ba.get_session(&second_cookie).await.expect("a session");
    assert_eq!(
        pointer["session"]["activeOrganizationId"],
        json!(org_id.clone())
    );
    let orphaned = context_of(ctx.ours(Shape::HttpV2, &second_cookie).await);
    assert_eq!(
        org_fields(&orphaned),
        [Value::Null, Value::Null, Value::Null, Value::Null]
    );
    assert_eq!(
        ctx.ours_with(&requiring, Shape::RestRequest, &second_cookie)
            .await,
        Ours::Deny
    );
}

#[tokio::test]
async fn organizations_agree_in_the_database() {
    organization_flows("database", Version::V1_7).await;
}

#[tokio::test]
async fn organizations_agree_in_redis() {
    organization_flows("redis", Version::V1_7).await;
}

#[tokio::test]
async fn organizations_agree_on_better_auth_1_6() {
    organization_flows("database", Version::V1_6).await;
}

/// The `payload` of a compact JWS as JSON (for reading a real token's claims in a test).
fn jwt_claims(jwt: &str) -> Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).expect("a JWS");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

/// Tokens minted by the real `@better-auth/oauth-provider` with the jwt plugin's own keys — a
/// user's `at+jwt` access token, an OpenID Connect ID token, a client-credentials token — are
/// never accepted as session JWTs, even when our issuer and audience are set to exactly theirs;
/// a session JWT from `/token`, same keys, still is.
#[tokio::test]
async fn oauth_provider_tokens_never_pass_as_sessions() {
    let mut options = ServerOptions::new(Profile::Default, SECRET);
    options.oauth_provider = true;
    let ctx = Ctx::start(options).await;
    let base_url = ctx.ba.base_url.clone();
    let otto = ctx.ba.sign_up(&email("otto")).await;
    let cookie = Credential::Cookie(otto.cookie.clone());
    let redirect_uri = "https://client.example/callback";
    let client = ctx
        .ba
        .create_oauth_client(
            json!({
                "redirect_uris": [redirect_uri],
                "grant_types": ["authorization_code", "client_credentials"],
                "client_credentials_scopes": ["read"],
                "scope": "openid profile email read",
                "skip_consent": true,
                "require_pkce": false,
                "token_endpoint_auth_method": "client_secret_post",
            }),
            &cookie,
        )
        .await;
    let client_id = client["client_id"].as_str().expect("client_id").to_owned();
    let client_secret = client["client_secret"]
        .as_str()
        .expect("client_secret")
        .to_owned();
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("response_type", "code"),
            ("client_id", client_id.as_str()),
            ("redirect_uri", redirect_uri),
            ("scope", "openid profile email"),
            ("state", "s1"),
            ("resource", base_url.as_str()),
        ])
        .finish();
    let authorize = ctx
        .ba
        .request(
            "GET",
            &format!("/oauth2/authorize?{query}"),
            None,
            Some(&cookie),
        )
        .await;
    let location = authorize.location.expect("a redirect to the client");
    let code = url::Url::parse(&location)
        .expect("a URL")
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no code in the redirect: {location}"));
    let user_tokens = ctx
        .ba
        .post_form(
            "/oauth2/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", redirect_uri),
                ("client_id", &client_id),
                ("client_secret", &client_secret),
                ("resource", &base_url),
            ],
        )
        .await;
    assert_eq!(user_tokens.status, 200, "{}", user_tokens.body);
    let machine = ctx
        .ba
        .post_form(
            "/oauth2/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &client_id),
                ("client_secret", &client_secret),
                ("scope", "read"),
                ("resource", &base_url),
            ],
        )
        .await;
    assert_eq!(machine.status, 200, "{}", machine.body);
    let token = |reply: &test_support::better_auth::Reply, name: &str| {
        reply.body[name]
            .as_str()
            .unwrap_or_else(|| panic!("no {name}: {}", reply.body))
            .to_owned()
    };
    let access = token(&user_tokens, "access_token");
    let id_token = token(&user_tokens, "id_token");
    let m2m = token(&machine, "access_token");
    let access_claims = jwt_claims(&access);
    assert_eq!(
        access_claims["sub"],
        json!(otto.user_id.clone()),
        "a user's token"
    );
    let issuer = access_claims["iss"].as_str().expect("iss").to_owned();

    // Our side configured to expect exactly these issuers and audiences: only the kind of token
    // can refuse them.
    for (case, jwt, audience) in [
        ("a user's at+jwt access token", &access, base_url.as_str()),
        ("a client-credentials access token", &m2m, base_url.as_str()),
        ("an OpenID Connect ID token", &id_token, client_id.as_str()),
    ] {
        let expecting = ctx.authenticator_with(&[
            ("BETTER_AUTH_METHODS", "jwt,session"),
            ("BETTER_AUTH_URL", base_url.as_str()),
            ("BETTER_AUTH_JWT_ISSUER", issuer.as_str()),
            ("BETTER_AUTH_JWT_AUDIENCE", audience),
        ]);
        let bearer = Credential::Bearer(jwt.clone());
        for shape in Shape::ALL {
            assert_eq!(
                ctx.ours_with(&expecting, shape, &bearer).await,
                Ours::Refused,
                "{case} in {shape:?}"
            );
        }
        let mut raw = auth_core::RawCredentials::default();
        let header = format!("Bearer {jwt}");
        raw.authorization.push(&header);
        let refusal = expecting
            .authenticate(&raw)
            .await
            .expect_err("never a session");
        assert_eq!(refusal.code(), "jwt_not_a_session_token", "{case}");
    }

    // The session JWT Better Auth's jwt plugin signs with the same keys is accepted.
    let session_jwt = ctx.ba.jwt(&cookie).await;
    let sessions = ctx.authenticator_with(&[
        ("BETTER_AUTH_METHODS", "jwt,session"),
        ("BETTER_AUTH_URL", base_url.as_str()),
    ]);
    match ctx
        .ours_with(&sessions, Shape::HttpV2, &Credential::Bearer(session_jwt))
        .await
    {
        Ours::Allow(context) => {
            assert_eq!(context["userId"], json!(otto.user_id.clone()));
            assert_eq!(context["verifiedBy"], "jwt");
        }
        other => panic!("a session JWT: {other:?}"),
    }
}
