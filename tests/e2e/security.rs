//! The security review's findings (issue 13), each against real PostgreSQL: every test here
//! failed before its fix.

use auth_core::{AuthError, Outcome, Refusal, StoreError};
use chrono::{Duration, Utc};
use serde_json::json;
use test_support::http::{Api, ApiRequest, TEST_SECRET, app, send};
use test_support::{NewUser, TestDb, Variant};

fn cookie(token: &str) -> String {
    test_support::session_cookie(TEST_SECRET, token)
}

async fn lookup(
    auth: &auth_core::Authenticator,
    token: &str,
) -> Result<auth_core::Authenticated, AuthError> {
    test_support::authenticate_cookie(auth, TEST_SECRET, token).await
}

struct Admins {
    db: TestDb,
    admin: String,
    admin_token: String,
    victim: String,
}

async fn admins(variant: Variant) -> Admins {
    let db = TestDb::new(variant).await;
    let mut admin = NewUser::new("admin@example.com");
    admin.role = Some("admin".into());
    let admin_id = db.create_user(&admin).await;
    let session = db
        .create_session(&admin_id, Utc::now() + Duration::hours(1))
        .await;
    let victim = db
        .create_user(&NewUser::new("other-admin@example.com"))
        .await;
    db.create_session(&victim, Utc::now() + Duration::hours(1))
        .await;
    Admins {
        db,
        admin: admin_id,
        admin_token: session.token,
        victim,
    }
}

#[tokio::test]
async fn a_cross_site_ban_with_the_admins_cookie_is_refused() {
    let a = admins(Variant::Default).await;
    let app = app(
        &a.db.url,
        &[("CORS_ALLOWED_ORIGINS", "https://app.example.com")],
    );
    let ban = format!("/users/{}/ban", a.victim);
    let with_cookie =
        |api| ApiRequest::new(api, "POST", &ban).header("cookie", &cookie(&a.admin_token));
    for api in Api::ALL {
        // What a page an admin visits can send: a no-cors simple request, no preflight.
        for (request, status, code) in [
            (with_cookie(api), 403, "MISSING_OR_NULL_ORIGIN"),
            (
                with_cookie(api)
                    .header("origin", "https://evil.example")
                    .header("content-type", "text/plain"),
                403,
                "INVALID_ORIGIN",
            ),
            (
                with_cookie(api).header("referer", "https://evil.example/page"),
                403,
                "INVALID_ORIGIN",
            ),
            (
                with_cookie(api).header("origin", "https://app.example.com"),
                415,
                "UNSUPPORTED_MEDIA_TYPE",
            ),
        ] {
            let reply = send(users::handler::handle, &app, &request).await;
            assert_eq!(
                (reply.status, reply.body["code"].as_str()),
                (status, Some(code)),
                "{api:?}"
            );
        }
        // The authorizer's context says the cookie vouched: the same checks apply.
        let via_authorizer = ApiRequest::new(api, "POST", &ban)
            .as_user(&a.admin, "s", "admin")
            .context_field("authMethod", "cookie")
            .header("origin", "https://evil.example");
        assert_eq!(
            send(users::handler::handle, &app, &via_authorizer)
                .await
                .status,
            403
        );
    }
    assert_eq!(a.db.sessions_of(&a.victim).await, 1, "nothing was banned");

    // From the app's origin, as JSON: the ban goes through.
    let trusted = with_cookie(Api::Rest)
        .header("origin", "https://app.example.com")
        .json(&json!({}));
    let reply = send(users::handler::handle, &app, &trusted).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(a.db.sessions_of(&a.victim).await, 0);
}

#[tokio::test]
async fn bearer_callers_and_reads_are_not_affected_by_the_origin_check() {
    let a = admins(Variant::Default).await;
    let app = app(
        &a.db.url,
        &[("BETTER_AUTH_TRUSTED_ORIGINS", "https://*.example.com")],
    );
    let bearer = ApiRequest::new(Api::Http, "POST", &format!("/users/{}/ban", a.victim))
        .header("authorization", &format!("Bearer {}", a.admin_token));
    assert_eq!(
        send(users::handler::handle, &app, &bearer).await.status,
        200
    );
    let read = ApiRequest::new(Api::Http, "GET", "/users")
        .header("cookie", &cookie(&a.admin_token))
        .header("origin", "https://evil.example");
    assert_eq!(send(users::handler::handle, &app, &read).await.status, 200);
    // A wildcard trusted origin, as Better Auth's trustedOrigins allows.
    let unban = ApiRequest::new(Api::Http, "DELETE", &format!("/users/{}/ban", a.victim))
        .header("cookie", &cookie(&a.admin_token))
        .header("origin", "https://admin.example.com")
        .header("content-type", "application/json");
    assert_eq!(send(users::handler::handle, &app, &unban).await.status, 200);
}

#[tokio::test]
async fn a_ban_column_mapped_with_a_typo_fails_closed() {
    let db = TestDb::new(Variant::Default).await;
    let mut user = NewUser::new("banned@example.com");
    user.banned = Some(true);
    let id = db.create_user(&user).await;
    let session = db
        .create_session(&id, Utc::now() + Duration::hours(1))
        .await;
    for (var, value) in [
        ("BETTER_AUTH_USER_FIELDS", "banned=is_banned"),
        ("BETTER_AUTH_SESSION_FIELDS", "revoked=revokd"),
    ] {
        let auth = test_support::authenticator(&db.url, TEST_SECRET, &[(var, value)]);
        match lookup(&auth, &session.token).await {
            Err(AuthError::Store(StoreError::Schema(error))) => {
                assert!(error.to_string().contains(var), "{error}");
            }
            other => panic!("{var}={value}: expected a schema error, got {other:?}"),
        }
    }
    let lax = TestDb::new(Variant::NoAdmin).await;
    let (_, live) = lax.user_with_session().await;
    let strict = test_support::authenticator(
        &lax.url,
        TEST_SECRET,
        &[("BETTER_AUTH_REQUIRE_ADMIN_COLUMNS", "true")],
    );
    let error = lookup(&strict, &live.token)
        .await
        .expect_err("no ban columns");
    assert_eq!(error.outcome(), Outcome::Unavailable, "{error}");
    let default = test_support::authenticator(&lax.url, TEST_SECRET, &[]);
    assert!(lookup(&default, &live.token).await.is_ok());
}

#[tokio::test]
async fn a_ban_column_added_after_a_warm_start_is_honoured_within_the_refresh() {
    let db = TestDb::new(Variant::NoAdmin).await;
    let (user, session) = db.user_with_session().await;
    let auth = test_support::authenticator(
        &db.url,
        TEST_SECRET,
        &[("BETTER_AUTH_SCHEMA_REFRESH_SECONDS", "1")],
    );
    assert!(lookup(&auth, &session.token).await.is_ok(), "warm");
    db.execute(
        "ALTER TABLE \"user\" ADD COLUMN \"banned\" boolean, ADD COLUMN \"banExpires\" timestamptz",
        &[],
    )
    .await;
    db.set_banned(&user, true).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    match lookup(&auth, &session.token).await {
        Err(AuthError::Refused { reason, .. }) => assert_eq!(reason, Refusal::Banned),
        other => panic!("expected the new ban column to be read, got {other:?}"),
    }
}

#[tokio::test]
async fn a_banned_or_demoted_admin_loses_their_impersonation_sessions() {
    for variant in [Variant::Default, Variant::RenamedSnakeUuid] {
        let db = TestDb::new(variant).await;
        let mut root = NewUser::new("root@example.com");
        root.role = Some("admin".into());
        let root = db.create_user(&root).await;
        let root_session = db
            .create_session(&root, Utc::now() + Duration::hours(1))
            .await;
        let mut impersonator = NewUser::new("impersonator@example.com");
        impersonator.role = Some("admin".into());
        let impersonator = db.create_user(&impersonator).await;
        let user = db.create_user(&NewUser::new("user@example.com")).await;
        let auth = test_support::authenticator(&db.url, TEST_SECRET, &[]);
        let app = app(&db.url, &[]);
        let root_call = |method: &str, path: &str| {
            ApiRequest::new(Api::Rest, method, path)
                .header("authorization", &format!("Bearer {}", root_session.token))
        };

        // Banned in SQL: the impersonation session is refused at once (same query).
        let as_user = db
            .create_session(&user, Utc::now() + Duration::hours(1))
            .await;
        db.impersonate(&as_user.id, &impersonator).await;
        assert!(lookup(&auth, &as_user.token).await.is_ok(), "{variant:?}");
        db.set_banned(&impersonator, true).await;
        match lookup(&auth, &as_user.token).await {
            Err(AuthError::Refused { reason, .. }) => {
                assert_eq!(reason, Refusal::ImpersonatorBanned, "{variant:?}")
            }
            other => panic!("{variant:?}: {other:?}"),
        }
        db.set_banned(&impersonator, false).await;

        // Banned through the API: the session is revoked with the admin's own.
        let reply = send(
            users::handler::handle,
            &app,
            &root_call("POST", &format!("/users/{impersonator}/ban")),
        )
        .await;
        assert_eq!(reply.status, 200, "{variant:?} {}", reply.body);
        assert_eq!(db.sessions_of(&user).await, 0, "{variant:?}");
        let reply = send(
            users::handler::handle,
            &app,
            &root_call("DELETE", &format!("/users/{impersonator}/ban")),
        )
        .await;
        assert_eq!(reply.status, 200);

        // Demoted: impersonation sessions end too; the user's own sessions stay.
        let own = db
            .create_session(&user, Utc::now() + Duration::hours(1))
            .await;
        let again = db
            .create_session(&user, Utc::now() + Duration::hours(1))
            .await;
        db.impersonate(&again.id, &impersonator).await;
        let reply = send(
            users::handler::handle,
            &app,
            &root_call("PUT", &format!("/users/{impersonator}/role"))
                .json(&json!({"role": "user"})),
        )
        .await;
        assert_eq!(reply.status, 200, "{variant:?} {}", reply.body);
        assert!(lookup(&auth, &own.token).await.is_ok(), "{variant:?}");
        assert!(lookup(&auth, &again.token).await.is_err(), "{variant:?}");
    }
}

#[tokio::test]
async fn impersonation_sessions_are_hidden_from_the_users_own_list() {
    let db = TestDb::new(Variant::Default).await;
    let mut admin = NewUser::new("admin@example.com");
    admin.role = Some("admin".into());
    let admin = db.create_user(&admin).await;
    let (user, own) = db.user_with_session().await;
    let impersonation = db
        .create_session(&user, Utc::now() + Duration::hours(1))
        .await;
    db.impersonate(&impersonation.id, &admin).await;
    let app = app(&db.url, &[]);
    let path = format!("/users/{user}/sessions");
    let listed = |reply: test_support::http::Reply| -> Vec<String> {
        reply.body["sessions"]
            .as_array()
            .expect("sessions")
            .iter()
            .map(|s| s["id"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let mine = send(
        sessions::handler::handle,
        &app,
        &ApiRequest::new(Api::Rest, "GET", &path).as_user(&user, &own.id, "user"),
    )
    .await;
    assert_eq!(listed(mine), vec![own.id]);
    let admins_view = send(
        sessions::handler::handle,
        &app,
        &ApiRequest::new(Api::Rest, "GET", &path).as_user(&admin, "s", "admin"),
    )
    .await;
    assert_eq!(listed(admins_view).len(), 2);
}

#[tokio::test]
async fn an_admin_cannot_ban_themselves_by_spelling_their_uuid_differently() {
    let db = TestDb::new(Variant::RenamedSnakeUuid).await;
    let mut admin = NewUser::new("admin@example.com");
    admin.role = Some("admin".into());
    let admin = db.create_user(&admin).await;
    let session = db
        .create_session(&admin, Utc::now() + Duration::hours(1))
        .await;
    let app = app(&db.url, &[]);
    for spelling in [admin.to_uppercase(), admin.replace('-', "")] {
        let reply = send(
            users::handler::handle,
            &app,
            &ApiRequest::new(Api::Rest, "POST", &format!("/users/{spelling}/ban"))
                .header("authorization", &format!("Bearer {}", session.token)),
        )
        .await;
        assert_eq!(
            (reply.status, reply.body["code"].as_str()),
            (400, Some("YOU_CANNOT_BAN_YOURSELF")),
            "{spelling}"
        );
    }
    assert_eq!(db.sessions_of(&admin).await, 1);
}

#[tokio::test]
async fn roles_are_split_as_better_auth_splits_them() {
    let db = TestDb::new(Variant::Default).await;
    let mut spaced = NewUser::new("spaced@example.com");
    spaced.role = Some("user, admin".into());
    let spaced = db.create_user(&spaced).await;
    let session = db
        .create_session(&spaced, Utc::now() + Duration::hours(1))
        .await;
    let app = app(&db.url, &[]);
    let reply = send(
        users::handler::handle,
        &app,
        &ApiRequest::new(Api::Http, "GET", "/users")
            .header("authorization", &format!("Bearer {}", session.token)),
    )
    .await;
    assert_eq!(
        reply.status, 403,
        "\"user, admin\" holds \" admin\", not admin"
    );
}

#[tokio::test]
async fn an_impersonation_session_has_the_impersonated_users_powers_only() {
    let db = TestDb::new(Variant::Default).await;
    let mut admin = NewUser::new("admin@example.com");
    admin.role = Some("admin".into());
    let admin = db.create_user(&admin).await;
    let (_, session) = db.user_with_session().await;
    db.impersonate(&session.id, &admin).await;
    let app = app(&db.url, &[]);
    let reply = send(
        users::handler::handle,
        &app,
        &ApiRequest::new(Api::Rest, "GET", "/users")
            .header("authorization", &format!("Bearer {}", session.token)),
    )
    .await;
    assert_eq!(
        reply.status, 403,
        "the admin's powers do not travel with the impersonation"
    );
}

#[tokio::test]
async fn keep_current_without_a_current_session_is_refused() {
    let db = TestDb::new(Variant::Default).await;
    let (user, _) = db.user_with_session().await;
    db.create_session(&user, Utc::now() + Duration::hours(1))
        .await;
    let app = app(&db.url, &[]);
    // A JWT caller: the authorizer's context has no session id.
    let request = ApiRequest::new(Api::Http, "DELETE", &format!("/users/{user}/sessions"))
        .query("keepCurrent", "true")
        .as_user(&user, "", "user");
    let reply = send(sessions::handler::handle, &app, &request).await;
    assert_eq!(
        (reply.status, reply.body["code"].as_str()),
        (400, Some("NO_CURRENT_SESSION"))
    );
    assert_eq!(db.sessions_of(&user).await, 2, "nothing was revoked");
}

#[tokio::test]
async fn no_token_reaches_the_logs_at_any_level() {
    let db = TestDb::new(Variant::Default).await;
    let (_, session) = db.user_with_session().await;
    for rust_log in [
        "trace",
        "debug",
        "info,tokio_postgres=trace",
        "trace,postgres_protocol=trace",
    ] {
        let (guard, logs) = test_support::logs::capture_at(rust_log);
        let auth = test_support::authenticator(&db.url, TEST_SECRET, &[]);
        assert!(lookup(&auth, &session.token).await.is_ok());
        drop(guard);
        let text = logs.text();
        assert!(
            !text.is_empty(),
            "{rust_log}: something is logged at this level"
        );
        assert!(
            !text.contains(&session.token),
            "{rust_log}: the token was logged"
        );
    }
}
