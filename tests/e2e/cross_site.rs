//! Cross-site requests: a write authenticated by a cookie (directly, or through the authorizer's
//! context saying the cookie vouched) needs the app's origin and a JSON body, so a page an admin
//! visits cannot act with their cookie; bearer callers and reads are not affected. (Moved from the
//! security review's suite, issue 13.)

use chrono::{Duration, Utc};
use serde_json::json;
use test_support::http::{Api, ApiRequest, TEST_SECRET, app, send};
use test_support::{NewUser, TestDb, Variant};

fn cookie(token: &str) -> String {
    test_support::session_cookie(TEST_SECRET, token)
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

/// Security review finding (issue 13; this test failed before its fix): a page an admin visits
/// cannot ban a user with the admin's cookie: a cookie-authenticated write needs the app's
/// origin and a JSON body, whether the cookie reaches the function directly or through the
/// authorizer's context.
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

/// Security review finding (issue 13; this test failed before its fix): the origin check
/// applies to cookie-authenticated writes only; bearer callers and reads pass, and wildcard
/// trusted origins match as Better Auth's `trustedOrigins` do.
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
