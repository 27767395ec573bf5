//! Routes (the user themselves, or a caller whose own credential holds the admin plugin's
//! statement, as Better Auth's admin endpoint of the same job checks it):
//!
//! | route | who | answer |
//! |---|---|---|
//! | `GET /users/{id}/sessions` | self, or `session:list` (`/admin/list-user-sessions`) | `{sessions: [{id, createdAt, updatedAt, expiresAt, ipAddress, userAgent, impersonatedBy, current}]}` |
//! | `DELETE /users/{id}/sessions` | self, or `session:revoke` (`/admin/revoke-user-sessions`) | `{success, revoked}`; `?keepCurrent=true` keeps the caller's own session |
//! | `DELETE /users/{id}/sessions/{session}` | self, or `session:revoke` (`/admin/revoke-user-session`) | `{success}`; 404 when it is not that user's active session |
//!
//! Revoking deletes the rows (Better Auth's semantics), or sets `revoked` where the table has it.

use account_api::handler;
use account_api::http::{ApiError, App, Caller, Permission, ok, query_param};
use account_api::routes::{Access, Ctx, Route, dispatch};
use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};

/// Every route of this function.
pub const ROUTES: &[Route] = &[
    Route::new(
        Method::GET,
        "/users/{id}/sessions",
        Access::Caller,
        handler!(list),
    ),
    Route::new(
        Method::DELETE,
        "/users/{id}/sessions",
        Access::Caller,
        handler!(revoke_all),
    ),
    Route::new(
        Method::DELETE,
        "/users/{id}/sessions/{session}",
        Access::Caller,
        handler!(revoke_one),
    ),
];

/// Handles one request.
pub async fn handle(app: &App, request: Request) -> Response<Body> {
    dispatch(app, ROUTES, request).await
}

/// The caller, when they are the path's user or hold `permission`.
async fn acting_on<'c>(
    ctx: &'c Ctx<'_>,
    permission: Permission,
) -> Result<(&'c Caller, &'c str), ApiError> {
    let user_id = ctx.id("id")?;
    let caller = ctx.caller()?;
    caller.require_self_or(ctx.app, user_id, permission).await?;
    Ok((caller, user_id))
}

async fn list(ctx: Ctx<'_>) -> Result<Response<Body>, ApiError> {
    let (caller, user_id) = acting_on(&ctx, Permission::LIST_SESSIONS).await?;
    // A user's own list leaves out the sessions an admin opened as them (Better Auth's
    // /list-sessions does too); an admin listing someone else sees every session.
    let impersonations = caller.user_id != user_id;
    let sessions: Vec<Value> = ctx
        .app
        .accounts()
        .await?
        .sessions_of(user_id, impersonations)
        .await?
        .into_iter()
        .map(|session| {
            let current = caller.session_id.as_deref() == Some(session.id.as_str());
            let mut value = serde_json::to_value(&session).unwrap_or(Value::Null);
            value["current"] = json!(current);
            value
        })
        .collect();
    ok(&json!({"sessions": sessions}))
}

async fn revoke_all(ctx: Ctx<'_>) -> Result<Response<Body>, ApiError> {
    let keep_current = match query_param(&ctx.request, "keepCurrent").as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(ApiError::invalid("keepCurrent must be true or false")),
    };
    let (caller, user_id) = acting_on(&ctx, Permission::REVOKE_SESSIONS).await?;
    let keep = match (keep_current, caller.session_id.as_deref()) {
        (false, _) => None,
        (true, Some(current)) => Some(current),
        // A JWT carries no session to keep: revoking "all but none" would revoke them all.
        (true, None) => {
            return Err(ApiError::BadRequest {
                code: "NO_CURRENT_SESSION",
                message: "keepCurrent needs a session credential; this request has none".into(),
            });
        }
    };
    let revoked = ctx
        .app
        .accounts()
        .await?
        .revoke_sessions(user_id, keep)
        .await?;
    tracing::info!(by = %caller.user_id, user = %user_id, revoked, "sessions revoked");
    ok(&json!({"success": true, "revoked": revoked}))
}

async fn revoke_one(ctx: Ctx<'_>) -> Result<Response<Body>, ApiError> {
    let session_id = ctx.id("session")?;
    let (caller, user_id) = acting_on(&ctx, Permission::REVOKE_SESSIONS).await?;
    let revoked = ctx
        .app
        .accounts()
        .await?
        .revoke_session(user_id, session_id)
        .await?;
    if !revoked {
        return Err(ApiError::NotFound {
            code: "SESSION_NOT_FOUND",
            message: "Session not found",
        });
    }
    tracing::info!(by = %caller.user_id, user = %user_id, "session revoked");
    ok(&json!({"success": true}))
}
