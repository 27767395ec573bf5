//! Admin impersonation (Better Auth's admin plugin): what an impersonation session may do, who
//! sees it, and when it ends. (That the authorizer's context names the impersonating admin:
//! `authorizer_handler::impersonated_sessions_carry_the_admin`. Moved from the security review's
//! suite, issue 13.)

use auth_core::{AuthError, Refusal};
use chrono::{Duration, Utc};
use serde_json::json;
use test_support::http::{Api, ApiRequest, TEST_SECRET, app, send};
use test_support::{NewUser, TestDb, Variant};

async fn lookup(
    auth: &auth_core::Authenticator,
    token: &str,
) -> Result<auth_core::Authenticated, AuthError> {
    test_support::authenticate_cookie(auth, TEST_SECRET, token).await
}

/// Security review finding (issue 13; this test failed before its fix): an admin who is banned
/// (in SQL or through our API) or demoted loses the sessions they impersonate users with; the
/// users' own sessions stay.
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

/// Security review finding (issue 13; this test failed before its fix): a user's own session list
/// does not show the sessions an admin impersonates them with; an admin's view does.
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

/// Security review finding (issue 13; this test failed before its fix): an impersonation
/// session has the impersonated user's powers, never the impersonating admin's.
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
