//! A team's own function behind the authorizer (`examples/orders`: axum on lambda_http, the
//! typed caller from `auth-caller`), fed the authorizer's real answer for real sessions; and
//! the same function verifying in place where no authorizer runs.

use std::sync::Arc;

use auth_caller::{CallerError, Callers};
use auth_core::access::AccessControl;
use auth_core::signing::{Secret, sign_cookie_value};
use authorizer::handler::handle_json;
use chrono::{Duration, Utc};
use lambda_runtime::LambdaEvent;
use serde_json::{Value, json};
use test_support::events::{Shape, event};
use test_support::http::{Api, ApiRequest};
use test_support::{NewUser, TestDb, Variant};
use tower::ServiceExt as _;

const SECRET: &str = "own-function-secret-0123456789abcdefghijkl";
const ROLES: &str =
    r#"{"roles":{"clerk":{"order":["read","delete"]},"viewer":{"order":["read"]},"user":{}}}"#;

fn access() -> Arc<AccessControl> {
    Arc::new(AccessControl::parse(ROLES).expect("roles"))
}

fn cookie(token: &str) -> String {
    format!(
        "better-auth.session_token={}",
        sign_cookie_value(&Secret::new(SECRET), token)
    )
}

/// A user with `role` and a live session; the session cookie.
async fn signed_in(db: &TestDb, email: &str, role: &str) -> String {
    let mut user = NewUser::new(email);
    user.role = Some(role.to_owned());
    let id = db.create_user(&user).await;
    let session = db
        .create_session(&id, Utc::now() + Duration::hours(1))
        .await;
    cookie(&session.token)
}

/// What the authorizer answers for a REST request carrying `cookie`: its context.
async fn authorizer_context(auth: &auth_core::Authenticator, cookie: &str) -> Value {
    let answer = handle_json(
        auth,
        LambdaEvent::new(
            event(Shape::RestRequest, None, Some(cookie)),
            lambda_runtime::Context::default(),
        ),
    )
    .await
    .expect("an Allow");
    answer["context"].clone()
}

/// Sends `request` to the example's router as lambda_http hands it over.
async fn call(request: &ApiRequest) -> (u16, Value) {
    let lambda = lambda_http::request::from_str(&request.event()).expect("an API Gateway event");
    let response = orders_example::app(access(), Arc::new(Callers::context_only()))
        .oneshot(lambda)
        .await
        .expect("infallible");
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("a body");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn with_context(api: Api, method: &str, path: &str, context: &Value) -> ApiRequest {
    let mut request = ApiRequest::new(api, method, path);
    request.context = Some(context.clone());
    request
}

#[tokio::test]
async fn the_function_decides_with_the_caller_the_authorizer_vouched_for() {
    let db = TestDb::new(Variant::Default).await;
    let auth = test_support::authenticator(&db.url, SECRET, &[]);
    let clerk =
        authorizer_context(&auth, &signed_in(&db, "clerk@example.com", "clerk").await).await;
    let viewer =
        authorizer_context(&auth, &signed_in(&db, "viewer@example.com", "viewer").await).await;
    for api in Api::ALL {
        let (status, body) = call(&with_context(api, "GET", "/profile", &clerk)).await;
        assert_eq!(status, 200, "{api:?}: {body}");
        assert_eq!(body["userId"], clerk["userId"]);
        assert_eq!(body["role"], "clerk");
        assert_eq!(
            call(&with_context(api, "GET", "/orders", &viewer)).await.0,
            200
        );
        assert_eq!(
            call(&with_context(api, "DELETE", "/orders/7", &clerk))
                .await
                .0,
            204
        );
        let (status, body) = call(&with_context(api, "DELETE", "/orders/7", &viewer)).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("FORBIDDEN")),
            "{api:?}"
        );
        // No active organization in the context: the organization route refuses.
        assert_eq!(
            call(&with_context(api, "POST", "/org/invoices", &clerk))
                .await
                .0,
            403
        );
        // No authorizer context at all: 401 in Better Auth's error shape.
        let (status, body) = call(&ApiRequest::new(api, "GET", "/orders")).await;
        assert_eq!(status, 401);
        assert_eq!(
            body,
            json!({"code": "UNAUTHORIZED", "message": "Unauthorized"})
        );
    }
}

/// An API key's context carries its owner's role; the function still asks the key's own
/// permissions.
#[tokio::test]
async fn an_api_key_caller_is_held_to_the_keys_own_permissions() {
    let context = json!({
        "userId": "u1", "role": "clerk", "verifiedBy": "api-key", "authMethod": "api_key",
        "apiKeyId": "k1", "permissions": r#"{"order":["read"]}"#,
    });
    assert_eq!(
        call(&with_context(Api::Rest, "GET", "/orders", &context))
            .await
            .0,
        200
    );
    assert_eq!(
        call(&with_context(Api::Rest, "DELETE", "/orders/1", &context))
            .await
            .0,
        403
    );
}

/// `cargo lambda watch`, a Function URL: no authorizer ran. With verification on, the request's
/// own credential is checked in place; a context, when present, is the only source.
#[tokio::test]
async fn without_an_authorizer_the_credential_is_verified_in_place() {
    let db = TestDb::new(Variant::Default).await;
    let auth = test_support::authenticator(&db.url, SECRET, &[]);
    let cookie = signed_in(&db, "local@example.com", "viewer").await;
    let callers = Callers::verifying(auth);
    let request = ApiRequest::new(Api::Http, "GET", "/orders").header("cookie", &cookie);
    let lambda = lambda_http::request::from_str(&request.event()).expect("an event");
    let caller = callers.caller(&lambda).await.expect("verified in place");
    assert_eq!(caller.role.as_deref(), Some("viewer"));
    assert_eq!(caller.verified_by.as_deref(), Some("session"));
    let forged = ApiRequest::new(Api::Http, "GET", "/orders").header(
        "cookie",
        &format!("better-auth.session_token={}", "x".repeat(40)),
    );
    let lambda = lambda_http::request::from_str(&forged.event()).expect("an event");
    assert_eq!(
        callers.caller(&lambda).await,
        Err(CallerError::Unauthenticated)
    );
    // A context names the caller even when a credential rides along: never both.
    let mut with_context = ApiRequest::new(Api::Rest, "GET", "/orders").header("cookie", &cookie);
    with_context.context = Some(json!({"userId": "from-the-authorizer", "role": "clerk"}));
    let lambda = lambda_http::request::from_str(&with_context.event()).expect("an event");
    let caller = callers.caller(&lambda).await.expect("the context");
    assert_eq!(caller.user_id, "from-the-authorizer");
    // Verification off (the default): no context, 401.
    let lambda = lambda_http::request::from_str(&request.event()).expect("an event");
    assert_eq!(
        Callers::context_only().caller(&lambda).await,
        Err(CallerError::Unauthenticated)
    );
    // The example function as `cargo lambda watch` runs it: the extractor asks the Callers it
    // was given, so the same handlers answer the credential checked in place.
    let app = orders_example::app(access(), Arc::new(callers));
    let mut answers = Vec::new();
    let forged = "better-auth.session_token=forged";
    // A REST event always has an (empty) authorizer object: that is no context.
    for (api, path, credential) in [
        (Api::Http, "/orders", cookie.as_str()),
        (Api::Rest, "/orders", cookie.as_str()),
        (Api::Http, "/profile", forged),
    ] {
        let request = ApiRequest::new(api, "GET", path).header("cookie", credential);
        let lambda = lambda_http::request::from_str(&request.event()).expect("an event");
        let response = app.clone().oneshot(lambda).await.expect("infallible");
        answers.push(response.status().as_u16());
    }
    assert_eq!(answers, [200, 200, 401]);
}
