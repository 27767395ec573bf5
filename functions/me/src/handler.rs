//! Routes:
//!
//! | route | auth | answer |
//! |---|---|---|
//! | `GET /health` | none | `{"status": "ok"}` |
//! | `GET /health/db` | none | `{"status", "database", "latencyMs"}`; 503 when the database does not answer |
//! | `GET /auth/me` | caller | the user, fresh from the database, in Better Auth's JSON shape |
//! | `GET /auth/session` | caller | `{session, user}` like Better Auth's get-session, the session without its token |
//! | `GET /auth/accounts` | caller | linked accounts, never their tokens or password |
//! | `GET /auth/api-keys` | caller | `{apiKeys}`: the caller's API keys, never their hash |
//! | `DELETE /auth/api-keys/{keyId}` | caller (own key; any key with `session:revoke`) | `{success}`; 404 when there is no such key of theirs |
//! | `POST /auth/verify` | none (checks the request's own credential) | `{valid, userId, sessionId, expiresAt}` |
//! | `GET /.well-known/oauth-protected-resource` (and `…/{resource path}`) | none | the OAuth protected-resource metadata (RFC 9728) from `OAUTH_PROTECTED_RESOURCE`; 404 when unset |

use account_api::handler;
use account_api::http::{ApiError, App, Permission, WELL_KNOWN_PATH, json, ok, raw_credentials};
use account_api::routes::{Access, Ctx, Route, dispatch};
use auth_core::Outcome;
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde_json::json;

/// Every route of this function.
pub const ROUTES: &[Route] = &[
    Route::new(Method::GET, "/health", Access::Public, handler!(health)),
    Route::new(
        Method::GET,
        "/health/db",
        Access::Public,
        handler!(health_db),
    ),
    Route::new(
        Method::POST,
        "/auth/verify",
        Access::Public,
        handler!(verify),
    ),
    Route::new(
        Method::GET,
        "/.well-known/oauth-protected-resource",
        Access::Public,
        handler!(resource_metadata),
    ),
    Route::new(
        Method::GET,
        "/.well-known/oauth-protected-resource/{resource}",
        Access::Public,
        handler!(resource_metadata_at_path),
    ),
    Route::new(Method::GET, "/auth/me", Access::Caller, handler!(me)),
    Route::new(
        Method::GET,
        "/auth/session",
        Access::Caller,
        handler!(session),
    ),
    Route::new(
        Method::GET,
        "/auth/accounts",
        Access::Caller,
        handler!(accounts),
    ),
    Route::new(
        Method::GET,
        "/auth/api-keys",
        Access::Caller,
        handler!(api_keys),
    ),
    Route::new(
        Method::DELETE,
        "/auth/api-keys/{keyId}",
        Access::Caller,
        handler!(delete_api_key),
    ),
];

/// Handles one request.
pub async fn handle(app: &App, request: Request) -> Response<Body> {
    dispatch(app, ROUTES, request).await
}

async fn health(_: Ctx<'_>) -> Result<Response<Body>, ApiError> {
    ok(&json!({"status": "ok"}))
}

async fn health_db(ctx: Ctx<'_>) -> Result<Response<Body>, ApiError> {
    match ctx.app.auth.database().ping().await {
        Ok(latency) => ok(&json!({
            "status": "ok",
            "database": "ok",
            "latencyMs": (latency.as_secs_f64() * 1000.0 * 100.0).round() / 100.0,
        })),
        Err(error) => {
            tracing::error!(error = %error, "health check: database unavailable");
            Ok(json(
                StatusCode::SERVICE_UNAVAILABLE,
                &json!({"status": "unavailable", "database": "unavailable"}),
            ))
        }
    }
}

/// RFC 9728's document at the well-known path; 404 when this API is not an OAuth resource
/// server (`OAUTH_PROTECTED_RESOURCE` unset).
async fn resource_metadata(ctx: Ctx<'_>) -> Result<Response<Body>, ApiError> {
    metadata_document(&ctx, WELL_KNOWN_PATH)
}

/// The same document at the well-known path followed by the resource identifier's path
/// (`/.well-known/oauth-protected-resource/mcp` for `https://api.example.com/mcp`), as
/// `@better-auth/mcp` serves it; 404 for any other path.
async fn resource_metadata_at_path(ctx: Ctx<'_>) -> Result<Response<Body>, ApiError> {
    let segment = ctx.id("resource").map_err(|_| metadata_not_found())?;
    metadata_document(&ctx, &format!("{WELL_KNOWN_PATH}/{segment}"))
}

fn metadata_not_found() -> ApiError {
    ApiError::NotFound {
        code: "NOT_FOUND",
        message: "This API publishes no OAuth protected-resource metadata here",
    }
}

fn metadata_document(ctx: &Ctx<'_>, path: &str) -> Result<Response<Body>, ApiError> {
    let Some(metadata) = &ctx.app.settings.resource_metadata else {
        return Err(metadata_not_found());
    };
    if !metadata.serves(path) {
        return Err(metadata_not_found());
    }
    ok(&metadata.document)
}

/// Checks the request's own credential against the database (never trusts a context).
async fn verify(ctx: Ctx<'_>) -> Result<Response<Body>, ApiError> {
    let refused =
        || ok(&json!({"valid": false, "userId": null, "sessionId": null, "expiresAt": null}));
    let Ok(raw) = raw_credentials(ctx.request.headers(), ctx.app.auth.extra_headers()) else {
        return refused();
    };
    match ctx.app.auth.authenticate(&raw).await {
        Ok(a) => ok(&json!({
            "valid": true,
            "userId": a.identity.user_id,
            "sessionId": a.identity.session_id,
            "verifiedBy": a.method.as_str(),
            "expiresAt": a.identity.expires_at.map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        })),
        Err(error) if error.outcome() == Outcome::Unavailable => Err(error.into()),
        Err(_) => refused(),
    }
}

async fn me(ctx: Ctx<'_>) -> Result<Response<Body>, ApiError> {
    let caller = ctx.caller()?;
    let user = ctx
        .app
        .accounts()
        .await?
        .user(&caller.user_id)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    ok(&user)
}

async fn session(ctx: Ctx<'_>) -> Result<Response<Body>, ApiError> {
    let caller = ctx.caller()?;
    let session_id = caller.session_id.as_deref().ok_or(ApiError::NotFound {
        code: "SESSION_NOT_FOUND",
        message: "This request carries no session",
    })?;
    let accounts = ctx.app.accounts().await?;
    // Where Better Auth keeps it: the session table or secondary storage.
    let session = accounts
        .session_of(&caller.user_id, session_id)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let user = accounts
        .user(&caller.user_id)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    ok(&json!({"session": session, "user": user}))
}

async fn accounts(ctx: Ctx<'_>) -> Result<Response<Body>, ApiError> {
    let caller = ctx.caller()?;
    let store = ctx.app.accounts().await?;
    ok(&store.accounts_of(&caller.user_id).await?)
}

async fn api_keys(ctx: Ctx<'_>) -> Result<Response<Body>, ApiError> {
    let caller = ctx.caller()?;
    let keys = ctx
        .app
        .accounts()
        .await?
        .api_keys_of(&caller.user_id)
        .await?;
    ok(&json!({"apiKeys": keys}))
}

async fn delete_api_key(ctx: Ctx<'_>) -> Result<Response<Body>, ApiError> {
    let id = ctx.id("keyId")?;
    let caller = ctx.caller()?;
    // Their own key; another user's with `session:revoke` (ending someone's credential, as
    // Better Auth's /admin/revoke-user-session does). Their own first: no permission read.
    let accounts = ctx.app.accounts().await?;
    let mut deleted = accounts
        .delete_api_key(id, Some(caller.user_id.as_str()))
        .await?;
    if !deleted && caller.may(ctx.app, Permission::REVOKE_SESSIONS).await? {
        deleted = accounts.delete_api_key(id, None).await?;
    }
    if !deleted {
        return Err(ApiError::NotFound {
            code: "API_KEY_NOT_FOUND",
            message: "API key not found",
        });
    }
    tracing::info!(by = %caller.user_id, key = %id, "API key deleted");
    ok(&json!({"success": true}))
}
