//! Our account-management functions acting on a real Better Auth deployment, with sessions
//! in the database, in Redis only, in Redis and the database, and in Redis with preserved
//! rows: whatever we change, Better Auth sees.

use serde_json::{Value, json};
use test_support::better_auth::{Credential, Profile, ServerOptions, SignedIn, Version};
use test_support::events::Shape;
use test_support::http::{Api, ApiRequest, send};
use test_support::redis::TestRedis;

use super::common::{Ctx, Ours, SECRET, email, with_redis};

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
    let all = ApiRequest::new(Api::Rest, "DELETE", &sessions_path).header("authorization", &bearer);
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
        sessions_listed_and_revoked_here_are_gone_for_better_auth_on(keeping, Version::V1_6).await;
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
