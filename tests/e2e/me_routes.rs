//! The `me` function's routes against real PostgreSQL.

use chrono::{Duration, Utc};
use me::handler::handle;
use serde_json::json;
use test_support::http::{Api, ApiRequest, TEST_SECRET, app, send};
use test_support::{NewUser, TestDb, Variant};

fn cookie(token: &str) -> String {
    test_support::session_cookie(TEST_SECRET, token)
}

#[tokio::test]
async fn health_needs_no_credentials() {
    let db = TestDb::new(Variant::Default).await;
    let app = app(&db.url, &[]);
    for api in Api::ALL {
        let reply = send(handle, &app, &ApiRequest::new(api, "GET", "/health")).await;
        assert_eq!((reply.status, reply.body), (200, json!({"status": "ok"})));
        let reply = send(handle, &app, &ApiRequest::new(api, "GET", "/health/db")).await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.body["database"], "ok");
        assert!(reply.body["latencyMs"].as_f64().is_some_and(|ms| ms >= 0.0));
        assert_eq!(reply.headers["cache-control"], "no-store");
    }
    let down = test_support::http::app("postgres://postgres@127.0.0.1:9/none", &[]);
    let reply = send(
        handle,
        &down,
        &ApiRequest::new(Api::Rest, "GET", "/health/db"),
    )
    .await;
    assert_eq!(
        (reply.status, reply.body),
        (
            503,
            json!({"status": "unavailable", "database": "unavailable"})
        )
    );
}

/// Issue 23: what an MCP client reads after a 401 (RFC 9728), without a credential; nothing
/// is published until `OAUTH_PROTECTED_RESOURCE` says what this API is.
#[tokio::test]
async fn the_protected_resource_metadata_is_public_and_only_where_configured() {
    // No database is needed: the pool is lazy and this route reads none.
    let unused = "postgres://postgres@127.0.0.1:9/none";
    let plain = app(unused, &[]);
    let resource = app(
        unused,
        &[
            ("OAUTH_PROTECTED_RESOURCE", "https://api.example.com/mcp"),
            (
                "OAUTH_AUTHORIZATION_SERVERS",
                "https://auth.example.com/api/auth",
            ),
            ("OAUTH_SCOPES_SUPPORTED", "orders:read orders:write"),
        ],
    );
    let document = json!({
        "resource": "https://api.example.com/mcp",
        "authorization_servers": ["https://auth.example.com/api/auth"],
        "bearer_methods_supported": ["header"],
        "scopes_supported": ["orders:read", "orders:write"],
    });
    for api in Api::ALL {
        for path in [
            "/.well-known/oauth-protected-resource",
            "/.well-known/oauth-protected-resource/mcp",
        ] {
            let reply = send(handle, &resource, &ApiRequest::new(api, "GET", path)).await;
            assert_eq!(
                (reply.status, &reply.body),
                (200, &document),
                "{api:?} {path}"
            );
            let reply = send(handle, &plain, &ApiRequest::new(api, "GET", path)).await;
            assert_eq!(
                (reply.status, &reply.body["code"]),
                (404, &json!("NOT_FOUND"))
            );
        }
        let other = "/.well-known/oauth-protected-resource/other";
        let reply = send(handle, &resource, &ApiRequest::new(api, "GET", other)).await;
        assert_eq!(reply.status, 404, "{api:?}: only the resource's own path");
        let wrong = ApiRequest::new(api, "POST", "/.well-known/oauth-protected-resource");
        let reply = send(handle, &resource, &wrong).await;
        assert_eq!(reply.status, 405);
    }
    // Without OAUTH_AUTHORIZATION_SERVERS: the oauth method's issuer, as the provider derives it.
    let derived = app(
        unused,
        &[
            ("OAUTH_PROTECTED_RESOURCE", "https://api.example.com"),
            ("BETTER_AUTH_URL", "https://auth.example.com"),
        ],
    );
    let request = ApiRequest::new(Api::Rest, "GET", "/.well-known/oauth-protected-resource");
    let reply = send(handle, &derived, &request).await;
    assert_eq!(
        reply.body["authorization_servers"],
        json!(["https://auth.example.com/api/auth"])
    );
}

#[tokio::test]
async fn me_from_the_authorizer_context_or_the_own_token() {
    let db = TestDb::new(Variant::Default).await;
    let (user_id, session) = db.user_with_session().await;
    let app = app(&db.url, &[]);
    for api in Api::ALL {
        let request =
            ApiRequest::new(api, "GET", "/auth/me").as_user(&user_id, &session.id, "user");
        let reply = send(handle, &app, &request).await;
        assert_eq!(reply.status, 200, "{api:?} {}", reply.body);
        let keys: Vec<&str> = reply
            .body
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "banExpires",
                "banReason",
                "banned",
                "createdAt",
                "email",
                "emailVerified",
                "id",
                "image",
                "name",
                "role",
                "updatedAt"
            ]
        );
        assert_eq!(reply.body["id"], json!(user_id));
        assert_eq!(reply.body["email"], "someone@example.com");
        assert_eq!(reply.body["role"], "user");

        // No authorizer (Function URL, cargo lambda watch): the function checks the token itself.
        let own = ApiRequest::new(api, "GET", "/auth/me").header("cookie", &cookie(&session.token));
        let reply = send(handle, &app, &own).await;
        assert_eq!(
            (reply.status, reply.body["id"].clone()),
            (200, json!(user_id)),
            "{api:?}"
        );
        let bearer = ApiRequest::new(api, "GET", "/auth/me")
            .header("authorization", &format!("Bearer {}", session.token));
        assert_eq!(send(handle, &app, &bearer).await.status, 200);

        let anonymous = send(handle, &app, &ApiRequest::new(api, "GET", "/auth/me")).await;
        assert_eq!(
            (anonymous.status, anonymous.body),
            (
                401,
                json!({"code": "UNAUTHORIZED", "message": "Unauthorized"})
            )
        );
        let forged = ApiRequest::new(api, "GET", "/auth/me")
            .header("cookie", "better-auth.session_token=abc.def");
        assert_eq!(send(handle, &app, &forged).await.status, 401);
    }
}

#[tokio::test]
async fn banned_users_calling_directly_are_forbidden() {
    let db = TestDb::new(Variant::Default).await;
    let mut user = NewUser::new("banned@example.com");
    user.banned = Some(true);
    let id = db.create_user(&user).await;
    let session = db
        .create_session(&id, Utc::now() + Duration::hours(1))
        .await;
    let app = app(&db.url, &[]);
    let reply = send(
        handle,
        &app,
        &ApiRequest::new(Api::Http, "GET", "/auth/me").header("cookie", &cookie(&session.token)),
    )
    .await;
    assert_eq!(
        (reply.status, reply.body["code"].clone()),
        (403, json!("BANNED_USER"))
    );
}

#[tokio::test]
async fn session_never_shows_its_token() {
    let db = TestDb::new(Variant::Default).await;
    let (user_id, session) = db.user_with_session().await;
    let app = app(&db.url, &[]);
    let reply = send(
        handle,
        &app,
        &ApiRequest::new(Api::Rest, "GET", "/auth/session").as_user(&user_id, &session.id, "user"),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["session"]["id"], json!(session.id));
    assert_eq!(reply.body["session"]["userId"], json!(user_id));
    assert_eq!(reply.body["user"]["id"], json!(user_id));
    assert!(reply.body["session"].get("token").is_none());
    assert!(!reply.body.to_string().contains(&session.token));
}

#[tokio::test]
async fn accounts_never_show_tokens_or_passwords() {
    let db = TestDb::new(Variant::Default).await;
    let (user_id, session) = db.user_with_session().await;
    db.execute(
        "INSERT INTO account (id, \"accountId\", \"providerId\", \"userId\", \"accessToken\", \"refreshToken\", \"idToken\", password, scope, \"createdAt\", \"updatedAt\") \
         VALUES ('acc1', 'gh-42', 'github', $1, 'secret-access', 'secret-refresh', 'secret-id', 'secret-hash', 'read:user', now(), now())",
        &[&user_id],
    )
    .await;
    let app = app(&db.url, &[]);
    let reply = send(
        handle,
        &app,
        &ApiRequest::new(Api::Http, "GET", "/auth/accounts").as_user(&user_id, &session.id, "user"),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let accounts = reply.body.as_array().expect("array");
    assert_eq!(accounts.len(), 1);
    let keys: Vec<&str> = accounts[0]
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "accountId",
            "createdAt",
            "id",
            "providerId",
            "scope",
            "updatedAt",
            "userId"
        ]
    );
    assert!(!reply.body.to_string().contains("secret-"));
}

#[tokio::test]
async fn verify_checks_the_request_itself() {
    let db = TestDb::new(Variant::Default).await;
    let (user_id, session) = db.user_with_session().await;
    let app = app(&db.url, &[]);
    let reply = send(
        handle,
        &app,
        &ApiRequest::new(Api::Rest, "POST", "/auth/verify")
            .header("cookie", &cookie(&session.token)),
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["valid"], true);
    assert_eq!(reply.body["userId"], json!(user_id));
    assert_eq!(reply.body["sessionId"], json!(session.id));
    assert!(
        reply.body["expiresAt"]
            .as_str()
            .is_some_and(|s| s.ends_with('Z'))
    );
    let invalid = json!({"valid": false, "userId": null, "sessionId": null, "expiresAt": null});
    for request in [
        ApiRequest::new(Api::Rest, "POST", "/auth/verify"),
        ApiRequest::new(Api::Http, "POST", "/auth/verify")
            .header("authorization", "Bearer nosuchtoken"),
        // A context alone proves nothing to verify: it checks the credential.
        ApiRequest::new(Api::Rest, "POST", "/auth/verify").as_user(&user_id, &session.id, "user"),
    ] {
        let reply = send(handle, &app, &request).await;
        assert_eq!((reply.status, reply.body.clone()), (200, invalid.clone()));
    }
}

#[tokio::test]
async fn unknown_routes_wrong_methods_and_cors() {
    let db = TestDb::new(Variant::Default).await;
    let app = app(
        &db.url,
        &[("CORS_ALLOWED_ORIGINS", "https://app.example.com")],
    );
    let reply = send(handle, &app, &ApiRequest::new(Api::Rest, "GET", "/nope")).await;
    assert_eq!(
        (reply.status, reply.body["code"].clone()),
        (404, json!("NOT_FOUND"))
    );
    let reply = send(
        handle,
        &app,
        &ApiRequest::new(Api::Rest, "DELETE", "/auth/me"),
    )
    .await;
    assert_eq!(
        (reply.status, reply.body["code"].clone()),
        (405, json!("METHOD_NOT_ALLOWED"))
    );

    let preflight = ApiRequest::new(Api::Http, "OPTIONS", "/auth/me")
        .header("origin", "https://app.example.com");
    let reply = send(handle, &app, &preflight).await;
    assert_eq!(reply.status, 204);
    assert_eq!(
        reply.headers["access-control-allow-origin"],
        "https://app.example.com"
    );
    assert_eq!(reply.headers["access-control-allow-credentials"], "true");
    let other =
        ApiRequest::new(Api::Http, "GET", "/health").header("origin", "https://evil.example.com");
    let reply = send(handle, &app, &other).await;
    assert!(reply.headers.get("access-control-allow-origin").is_none());
    let allowed =
        ApiRequest::new(Api::Http, "GET", "/health").header("origin", "https://app.example.com");
    assert_eq!(
        send(handle, &app, &allowed).await.headers["access-control-allow-origin"],
        "https://app.example.com"
    );
}
