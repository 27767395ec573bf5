//! An example of *your own* function behind the Better Auth authorizer: axum on `lambda_http`,
//! the caller as an extractor, permissions checked with Better Auth's own roles. Copy it.
//!
//! | route | needs |
//! |---|---|
//! | `GET /profile` | any signed-in caller |
//! | `GET /orders` | `order: read` (the admin plugin's roles; an API key's own permissions too) |
//! | `DELETE /orders/{id}` | `order: delete` |
//! | `POST /org/invoices` | `invoice: create` in the caller's active organization |
//!
//! With `AUTHORIZER_ROUTES` the authorizer refuses these before the function runs; the checks
//! here are the function's own (defence in depth, and what runs under `cargo lambda watch`).

use std::sync::Arc;

use auth_caller::{Caller, CallerError, Callers};
use auth_core::access::{AccessControl, PermissionRequest};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use lambda_http::{Request, RequestExt as _};
use serde_json::{Value, json};
use tower::ServiceExt as _;
use tower::util::MapRequest;

type Access = State<Arc<AccessControl>>;

/// The function as `lambda_http::run` takes it: the router, with REST APIs' stage taken out of
/// the path (lambda_http puts `/{stage}` in front of it for the default execute-api domain;
/// the routes are the API's own), and `callers` (the authorizer's context; where none ran and
/// `AUTH_VERIFY_WITHOUT_AUTHORIZER=true`, the request's credential checked in place) for the
/// [`Caller`] extractor.
pub fn app(
    access: Arc<AccessControl>,
    callers: Arc<Callers>,
) -> MapRequest<Router, fn(Request) -> Request> {
    router(access)
        .layer(axum::Extension(callers))
        .map_request(without_stage as fn(Request) -> Request)
}

fn without_stage(mut request: Request) -> Request {
    let path = request.raw_http_path().to_owned();
    let query = request
        .uri()
        .query()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    if let Ok(uri) = format!("{path}{query}").parse() {
        *request.uri_mut() = uri;
    }
    request
}

/// The routes, as the SAM template and the `cargo lambda watch` router list them (the tests
/// hold both to this list, and the router to it).
pub const ROUTES: [(&str, &str); 4] = [
    ("GET", "/profile"),
    ("GET", "/orders"),
    ("DELETE", "/orders/{id}"),
    ("POST", "/org/invoices"),
];

/// The function's routes.
pub fn router(access: Arc<AccessControl>) -> Router {
    Router::new()
        .route("/profile", get(profile))
        .route("/orders", get(list_orders))
        .route("/orders/{id}", delete(delete_order))
        .route("/org/invoices", post(create_invoice))
        .with_state(access)
}

fn permission(json: &str) -> PermissionRequest {
    serde_json::from_str(json).unwrap_or_default()
}

async fn profile(caller: Caller) -> Json<Value> {
    Json(json!({
        "userId": caller.user_id,
        "email": caller.email,
        "role": caller.role,
        "organizationId": caller.organization.map(|o| o.id),
    }))
}

async fn list_orders(caller: Caller, State(access): Access) -> Result<Json<Value>, CallerError> {
    caller.require(&access, &permission(r#"{"order": ["read"]}"#))?;
    Ok(Json(json!({"orders": [], "for": caller.user_id})))
}

async fn delete_order(
    caller: Caller,
    State(access): Access,
    Path(id): Path<String>,
) -> Result<StatusCode, CallerError> {
    caller.require(&access, &permission(r#"{"order": ["delete"]}"#))?;
    tracing::info!(order = %id, user = %caller.user_id, "order deleted");
    Ok(StatusCode::NO_CONTENT)
}

async fn create_invoice(
    caller: Caller,
    State(access): Access,
) -> Result<(StatusCode, Json<Value>), CallerError> {
    caller.require_in_organization(&access, &permission(r#"{"invoice": ["create"]}"#))?;
    let organization = caller.organization.map(|o| o.id);
    Ok((
        StatusCode::CREATED,
        Json(json!({"organizationId": organization})),
    ))
}
