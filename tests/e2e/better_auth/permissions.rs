//! Who may do what to other users: our `users` and `sessions` functions decide by Better Auth's
//! statements, route by route, exactly as Better Auth's own admin endpoints do. The test app's
//! roles (`tests/better-auth/access-control.mjs`) are chosen so a role-name shortcut fails:
//! `admin` may list, get, update and set roles but NOT ban; `support` may list, get and ban but
//! not set roles; `user` may do none of it. Our side reads them as a deployment does:
//! `BETTER_AUTH_ACCESS_CONTROL` = `node tools/export-access-control.mjs
//! tests/better-auth/access-control.mjs`.
//!
//! Every case is asked of both, for the same caller, each on a fresh target user of its own
//! (so one side's ban or revocation cannot change the other's answer): the two must allow and
//! refuse alike, and Better Auth must answer as the roles say.

use std::path::Path;

use account_api::http::App;
use serde_json::{Value, json};
use test_support::better_auth::{Credential, Profile, ServerOptions, SignedIn};
use test_support::http::{Api, ApiRequest, send};

use super::common::{Ctx, SECRET, email};

/// `BETTER_AUTH_ACCESS_CONTROL` for the test app, printed by the tool a deployment uses.
fn exported_access_control() -> String {
    test_support::better_auth::ensure_installed();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let output = std::process::Command::new("node")
        .arg(root.join("tools/export-access-control.mjs"))
        .arg(root.join("tests/better-auth/access-control.mjs"))
        .output()
        .expect("run node tools/export-access-control.mjs");
    assert!(
        output.status.success(),
        "export-access-control failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

struct World {
    ctx: Ctx,
    app: App,
    access_control: String,
}

async fn world() -> World {
    world_with(false).await
}

/// With `api_keys`, the api-key plugin too (its table, and keys made server-side).
async fn world_with(api_keys: bool) -> World {
    let mut options = ServerOptions::new(Profile::Default, SECRET);
    options.access_control = true;
    options.api_keys = api_keys;
    let ctx = Ctx::start(options).await;
    let access_control = exported_access_control();
    let app = app_with(&ctx, &access_control, &[]).expect("app");
    World {
        ctx,
        app,
        access_control,
    }
}

/// Our functions' state on the server's database, with these roles and settings.
fn app_with(
    ctx: &Ctx,
    access_control: &str,
    extra: &[(&str, &str)],
) -> Result<App, auth_core::ConfigError> {
    let mut vars = ctx.vars.clone();
    vars.extend([
        ("DATABASE_URL".to_owned(), ctx.db.url.clone()),
        ("BETTER_AUTH_SECRET".to_owned(), SECRET.to_owned()),
        (
            "BETTER_AUTH_ACCESS_CONTROL".to_owned(),
            access_control.to_owned(),
        ),
    ]);
    vars.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    App::from_lookup(|k| {
        vars.iter()
            .rev()
            .find(|(name, _)| name == k)
            .map(|(_, v)| v.clone())
    })
}

impl World {
    /// A new user with this role (written where Better Auth keeps it), signed in.
    async fn user(&self, name: &str, role: &str) -> SignedIn {
        let signed_in = self.ctx.ba.sign_up(&email(name)).await;
        self.set_role(&signed_in.user_id, role).await;
        signed_in
    }

    async fn set_role(&self, user_id: &str, role: &str) {
        self.ctx
            .db
            .execute(
                "UPDATE \"user\" SET role = $1 WHERE id = $2",
                &[&role, &user_id],
            )
            .await;
    }

    async fn session_id(&self, token: &str) -> String {
        self.ctx
            .db
            .client
            .query_one("SELECT id FROM \"session\" WHERE token = $1", &[&token])
            .await
            .expect("the target's session")
            .get(0)
    }

    async fn ours(&self, function: Function, request: ApiRequest) -> test_support::http::Reply {
        match function {
            Function::Users => send(users::handler::handle, &self.app, &request).await,
            Function::Sessions => send(sessions::handler::handle, &self.app, &request).await,
            Function::Me => send(me::handler::handle, &self.app, &request).await,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Function {
    Users,
    Sessions,
    Me,
}

/// One thing an admin does to another user: Better Auth's endpoint, and our route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    ListUsers,
    GetUser,
    UpdateName,
    UpdateEmail,
    SetRole,
    Ban,
    Unban,
    ListSessions,
    RevokeSession,
    RevokeSessions,
}

impl Case {
    const ALL: [Case; 10] = [
        Self::ListUsers,
        Self::GetUser,
        Self::UpdateName,
        Self::UpdateEmail,
        Self::SetRole,
        Self::Ban,
        Self::Unban,
        Self::ListSessions,
        Self::RevokeSession,
        Self::RevokeSessions,
    ];

    /// Whether `admin`, `support` and `user` may, by the test app's roles.
    fn expected(self) -> [bool; 3] {
        match self {
            Self::ListUsers | Self::GetUser => [true, true, false],
            Self::UpdateName | Self::SetRole => [true, false, false],
            // `user:update` and `user:set-email`: no role holds both.
            Self::UpdateEmail => [false, false, false],
            Self::Ban | Self::Unban => [false, true, false],
            Self::ListSessions | Self::RevokeSession | Self::RevokeSessions => [true, true, false],
        }
    }

    /// Better Auth's admin endpoint, as `caller`, on `target`: the status.
    async fn theirs(self, w: &World, caller: &Credential, target: &SignedIn) -> (u16, Value) {
        let ba = &w.ctx.ba;
        let user = json!(target.user_id);
        let reply = match self {
            Self::ListUsers => ba.get("/admin/list-users", caller).await,
            Self::GetUser => {
                ba.get(&format!("/admin/get-user?id={}", target.user_id), caller)
                    .await
            }
            Self::UpdateName => {
                let body = json!({"userId": user, "data": {"name": "Renamed"}});
                ba.post("/admin/update-user", body, Some(caller)).await
            }
            Self::UpdateEmail => {
                let body = json!({"userId": user, "data": {"email": email("moved")}});
                ba.post("/admin/update-user", body, Some(caller)).await
            }
            Self::SetRole => {
                let body = json!({"userId": user, "role": "support"});
                ba.post("/admin/set-role", body, Some(caller)).await
            }
            Self::Ban => {
                ba.post("/admin/ban-user", json!({"userId": user}), Some(caller))
                    .await
            }
            Self::Unban => {
                ba.post("/admin/unban-user", json!({"userId": user}), Some(caller))
                    .await
            }
            Self::ListSessions => {
                let body = json!({"userId": user});
                ba.post("/admin/list-user-sessions", body, Some(caller))
                    .await
            }
            Self::RevokeSession => {
                let body = json!({"sessionToken": target.token});
                ba.post("/admin/revoke-user-session", body, Some(caller))
                    .await
            }
            Self::RevokeSessions => {
                let body = json!({"userId": user});
                ba.post("/admin/revoke-user-sessions", body, Some(caller))
                    .await
            }
        };
        (reply.status, reply.body)
    }

    /// Our route, as `caller` (a bearer session token), on `target`.
    async fn ours(self, w: &World, caller: &SignedIn, target: &SignedIn) -> (u16, Value) {
        let id = &target.user_id;
        let request = |method: &str, path: &str| {
            ApiRequest::new(Api::Rest, method, path)
                .header("authorization", &format!("Bearer {}", caller.signed_token))
        };
        let (function, request) = match self {
            Self::ListUsers => (Function::Users, request("GET", "/users")),
            Self::GetUser => (Function::Users, request("GET", &format!("/users/{id}"))),
            Self::UpdateName => (
                Function::Users,
                request("PATCH", &format!("/users/{id}")).json(&json!({"name": "Renamed"})),
            ),
            Self::UpdateEmail => (
                Function::Users,
                request("PATCH", &format!("/users/{id}")).json(&json!({"email": email("moved")})),
            ),
            Self::SetRole => (
                Function::Users,
                request("PUT", &format!("/users/{id}/role")).json(&json!({"role": "support"})),
            ),
            Self::Ban => (
                Function::Users,
                request("POST", &format!("/users/{id}/ban")).json(&json!({})),
            ),
            Self::Unban => (
                Function::Users,
                request("DELETE", &format!("/users/{id}/ban")),
            ),
            Self::ListSessions => (
                Function::Sessions,
                request("GET", &format!("/users/{id}/sessions")),
            ),
            Self::RevokeSession => {
                let session = w.session_id(&target.token).await;
                (
                    Function::Sessions,
                    request("DELETE", &format!("/users/{id}/sessions/{session}")),
                )
            }
            Self::RevokeSessions => (
                Function::Sessions,
                request("DELETE", &format!("/users/{id}/sessions")),
            ),
        };
        let reply = w.ours(function, request).await;
        (reply.status, reply.body)
    }
}

/// Allowed (200) or refused (403, and on our side the `FORBIDDEN` code): nothing else.
fn allowed(side: &str, case: Case, role: &str, (status, body): &(u16, Value)) -> bool {
    match status {
        200 => true,
        403 => {
            if side == "ours" {
                assert_eq!(body["code"], "FORBIDDEN", "{case:?} as {role}: {body}");
            }
            false
        }
        other => panic!("{side}: {case:?} as {role}: {other} {body}"),
    }
}

/// The acceptance test of the statements: `admin` may list but not ban, `support` may ban but
/// not set roles, `user` may none of it; for every admin job our routes have, we allow and
/// refuse exactly as Better Auth's own endpoint does.
#[tokio::test]
async fn our_routes_allow_and_refuse_as_better_auths_admin_endpoints_do() {
    let w = world().await;
    let callers = [
        ("admin", w.user("admin", "admin").await),
        ("support", w.user("support", "support").await),
        ("user", w.user("plain", "user").await),
    ];
    for case in Case::ALL {
        for (i, (role, caller)) in callers.iter().enumerate() {
            let their_target = w.user("target", "user").await;
            let our_target = w.user("target", "user").await;
            let credential = Credential::Bearer(caller.signed_token.clone());
            let theirs = case.theirs(&w, &credential, &their_target).await;
            let ours = case.ours(&w, caller, &our_target).await;
            let (theirs, ours) = (
                allowed("Better Auth", case, role, &theirs),
                allowed("ours", case, role, &ours),
            );
            assert_eq!(
                ours, theirs,
                "{case:?} as {role}: Better Auth allows: {theirs}, we allow: {ours}"
            );
            assert_eq!(
                theirs,
                case.expected()[i],
                "{case:?} as {role}: the test app's roles say otherwise"
            );
        }
    }
}

/// A role carried as a copy (the authorizer's context from a JWT or a cookie cache) is not what
/// decides: the role PostgreSQL holds now is, as Better Auth's admin endpoints re-read the
/// session. A demoted `support` whose copy still says `support` may not ban; a promoted user
/// whose copy still says `user` may (Better Auth agrees on both). A delegated credential (the
/// context names an API key) carries no statements.
#[tokio::test]
async fn the_role_that_decides_is_the_current_one() {
    let w = world().await;
    let demoted = w.user("demoted", "support").await;
    let promoted = w.user("promoted", "user").await;
    w.set_role(&demoted.user_id, "user").await;
    w.set_role(&promoted.user_id, "support").await;
    for (signed_in, copy, may) in [(&demoted, "support", false), (&promoted, "user", true)] {
        let credential = Credential::Bearer(signed_in.signed_token.clone());
        let target = w.user("target", "user").await;
        let theirs = Case::Ban.theirs(&w, &credential, &target).await;
        assert_eq!(theirs.0 == 200, may, "Better Auth: {}", theirs.1);
        for verified_by in ["jwt", "cookie-cache"] {
            let target = w.user("target", "user").await;
            let request =
                ApiRequest::new(Api::Http, "POST", &format!("/users/{}/ban", target.user_id))
                    .as_user(&signed_in.user_id, "", copy)
                    .context_field("verifiedBy", verified_by)
                    .json(&json!({}));
            let reply = w.ours(Function::Users, request).await;
            assert_eq!(
                reply.status == 200,
                may,
                "{copy} copy, {verified_by}: {}",
                reply.body
            );
        }
    }
    let target = w.user("target", "user").await;
    let request = ApiRequest::new(Api::Http, "POST", &format!("/users/{}/ban", target.user_id))
        .as_user(&promoted.user_id, "", "support")
        .context_field("apiKeyId", "k1")
        .json(&json!({}));
    let reply = w.ours(Function::Users, request).await;
    assert_eq!(
        (reply.status, reply.body["code"].clone()),
        (403, json!("FORBIDDEN"))
    );
}

/// `ASSIGNABLE_ROLES` must name roles of `BETTER_AUTH_ACCESS_CONTROL`: an unknown one stops the
/// start, naming it. Unset, every role is assignable (Better Auth's set-role accepts any of
/// its roles, and refuses others as we do).
#[tokio::test]
async fn assignable_roles_are_checked_against_the_roles_at_start_up() {
    let w = world().await;
    let error = app_with(
        &w.ctx,
        &w.access_control,
        &[("ASSIGNABLE_ROLES", "support,moderator")],
    )
    .expect_err("moderator is not a role of the test app")
    .to_string();
    assert!(
        error.contains("ASSIGNABLE_ROLES") && error.contains("\"moderator\""),
        "{error}"
    );
    let app = app_with(
        &w.ctx,
        &w.access_control,
        &[("ASSIGNABLE_ROLES", "support,user")],
    )
    .expect("known roles");
    assert_eq!(app.settings.assignable_roles, ["support", "user"]);
    assert_eq!(
        w.app.settings.assignable_roles,
        ["admin", "auditor", "support", "user"]
    );

    let admin = w.user("admin", "admin").await;
    let target = w.user("target", "user").await;
    let credential = Credential::Bearer(admin.signed_token.clone());
    for (role, status) in [("auditor", 200), ("moderator", 400)] {
        let theirs = w
            .ctx
            .ba
            .post(
                "/admin/set-role",
                json!({"userId": target.user_id, "role": role}),
                Some(&credential),
            )
            .await;
        assert_eq!(
            theirs.status, status,
            "Better Auth, {role}: {}",
            theirs.body
        );
        let ours = w
            .ours(
                Function::Users,
                ApiRequest::new(Api::Rest, "PUT", &format!("/users/{}/role", target.user_id))
                    .header("authorization", &format!("Bearer {}", admin.signed_token))
                    .json(&json!({"role": role})),
            )
            .await;
        assert_eq!(ours.status, status, "ours, {role}: {}", ours.body);
    }
}

/// The routes Better Auth has no admin endpoint for follow the statements documented for them:
/// another user's API keys are listed with `user:get` and deleted with `session:revoke` (ending
/// their credential, as revoking a session does); `email` needs `user:set-email` beside
/// `user:update`, even on yourself (Better Auth's own `/update-user` changes no email), while
/// your own name needs nothing.
#[tokio::test]
async fn routes_without_a_better_auth_twin_follow_their_documented_statements() {
    let w = world_with(true).await;
    let admin = w.user("admin", "admin").await;
    let support = w.user("support", "support").await;
    let auditor = w.user("auditor", "auditor").await;
    let plain = w.user("plain", "user").await;
    let target = w.user("target", "user").await;
    let made = w
        .ctx
        .ba
        .create_api_key(json!({"userId": target.user_id, "name": "target's key"}))
        .await;
    let key_id = made["id"].as_str().expect("key id").to_owned();
    let as_ = |caller: &SignedIn, method: &str, path: &str| {
        ApiRequest::new(Api::Http, method, path)
            .header("authorization", &format!("Bearer {}", caller.signed_token))
    };

    let keys = format!("/users/{}/api-keys", target.user_id);
    for (caller, status) in [
        (&admin, 200),
        (&support, 200),
        (&auditor, 403),
        (&plain, 403),
        (&target, 200),
    ] {
        let reply = w.ours(Function::Users, as_(caller, "GET", &keys)).await;
        assert_eq!(reply.status, status, "{}", reply.body);
        if status == 200 {
            assert_eq!(reply.body["apiKeys"][0]["id"], json!(key_id));
        }
    }

    // Without session:revoke, another user's key is not theirs: 404, and it stays.
    let delete = format!("/auth/api-keys/{key_id}");
    for caller in [&auditor, &plain] {
        let reply = w
            .ours(
                Function::Me,
                as_(caller, "DELETE", &delete).json(&json!({})),
            )
            .await;
        assert_eq!(
            (reply.status, reply.body["code"].clone()),
            (404, json!("API_KEY_NOT_FOUND")),
            "{}",
            reply.body
        );
    }
    let reply = w
        .ours(
            Function::Me,
            as_(&support, "DELETE", &delete).json(&json!({})),
        )
        .await;
    assert_eq!(reply.body, json!({"success": true}));
    let reply = w.ours(Function::Users, as_(&target, "GET", &keys)).await;
    assert_eq!(reply.body["apiKeys"], json!([]));

    // Your own name: nothing needed. Your own email: user:update and user:set-email, which no
    // role of the test app holds both of (Better Auth's /admin/update-user refuses it too).
    let own = format!("/users/{}", admin.user_id);
    let reply = w
        .ours(
            Function::Users,
            as_(&plain, "PATCH", &format!("/users/{}", plain.user_id))
                .json(&json!({"name": "Plain"})),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let reply = w
        .ours(
            Function::Users,
            as_(&admin, "PATCH", &own).json(&json!({"email": email("moved")})),
        )
        .await;
    assert_eq!(
        (reply.status, reply.body["message"].clone()),
        (403, json!("You are not allowed to update users email"))
    );
    let theirs = w
        .ctx
        .ba
        .post(
            "/admin/update-user",
            json!({"userId": admin.user_id, "data": {"email": email("moved")}}),
            Some(&Credential::Bearer(admin.signed_token.clone())),
        )
        .await;
    assert_eq!(theirs.status, 403, "{}", theirs.body);
}
