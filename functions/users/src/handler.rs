//! Routes (who: the caller's own credential holding the admin plugin's statement, as Better
//! Auth's admin endpoint of the same job checks it; see `account_api::http::Permission`):
//!
//! | route | who | answer |
//! |---|---|---|
//! | `GET /users` | `user:list` | `{users, total, limit, offset}`: search, filter, sort, page |
//! | `GET /users/{id}` | self, or `user:get` | the user |
//! | `PATCH /users/{id}` | self: `name`, `image`; another user: `user:update`; `email`, `emailVerified`: `user:update` and `user:set-email` | `{user}` |
//! | `PUT /users/{id}/role` | `user:set-role` | `{user}`; `{role: string \| string[]}` from `ASSIGNABLE_ROLES` |
//! | `POST /users/{id}/ban` | `user:ban` | `{user}`; sets the ban and revokes all sessions, atomically |
//! | `DELETE /users/{id}/ban` | `user:ban` | `{user}`; clears the ban |
//! | `GET /users/{id}/api-keys` | self, or `user:get` | `{apiKeys}`: the user's API keys, never their hash |

use account_api::handler;
use account_api::http::{ApiError, App, Permission, json_body, ok, query_param};
use account_api::routes::{Access, Ctx, Route, dispatch};
use account_api::store::query::UserQuery;
use account_api::validate::{BanRequest, RoleRequest, UserPatch};
use auth_core::access::Connector;
use chrono::Utc;
use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde_json::json;

/// Every route of this function.
pub const ROUTES: &[Route] = &[
    Route::new(Method::GET, "/users", Access::Caller, handler!(list)),
    Route::new(Method::GET, "/users/{id}", Access::Caller, handler!(get)),
    Route::new(
        Method::PATCH,
        "/users/{id}",
        Access::Caller,
        handler!(patch),
    ),
    Route::new(
        Method::PUT,
        "/users/{id}/role",
        Access::Caller,
        handler!(set_role),
    ),
    Route::new(
        Method::POST,
        "/users/{id}/ban",
        Access::Caller,
        handler!(ban),
    ),
    Route::new(
        Method::DELETE,
        "/users/{id}/ban",
        Access::Caller,
        handler!(unban),
    ),
    Route::new(
        Method::GET,
        "/users/{id}/api-keys",
        Access::Caller,
        handler!(api_keys),
    ),
];

/// Handles one request.
pub async fn handle(app: &App, request: Request) -> Response<Body> {
    dispatch(app, ROUTES, request).await
}

async fn list(ctx: Ctx<'_>) -> Result<Response<Body>, ApiError> {
    ctx.caller()?
        .require(ctx.app, Permission::LIST_USERS)
        .await?;
    let query = UserQuery::parse(
        &|name| query_param(&ctx.request, name),
        ctx.app.settings.max_list_limit,
    )?;
    ok(&ctx.app.accounts().await?.list_users(&query).await?)
}

async fn get(ctx: Ctx<'_>) -> Result<Response<Body>, ApiError> {
    let id = ctx.id("id")?;
    ctx.caller()?
        .require_self_or(ctx.app, id, Permission::GET_USER)
        .await?;
    let user = ctx.app.accounts().await?.user(id).await?;
    ok(&user.ok_or_else(ApiError::user_not_found)?)
}

async fn patch(ctx: Ctx<'_>) -> Result<Response<Body>, ApiError> {
    let id = ctx.id("id")?;
    let caller = ctx.caller()?;
    caller
        .require_self_or(ctx.app, id, Permission::UPDATE_USER)
        .await?;
    let body: UserPatch = json_body(&ctx.request, &ctx.app.settings)?;
    if body.needs_admin() {
        // Better Auth's /admin/update-user: `user:update`, then `user:set-email` for `email`
        // or `emailVerified`; a user's own /update-user changes neither.
        caller.require(ctx.app, Permission::UPDATE_USER).await?;
        caller.require(ctx.app, Permission::SET_EMAIL).await?;
    }
    let changes = body.into_changes()?;
    let user = ctx
        .app
        .accounts()
        .await?
        .update_user(id, &changes)
        .await?
        .ok_or_else(ApiError::user_not_found)?;
    ok(&json!({"user": user}))
}

async fn set_role(ctx: Ctx<'_>) -> Result<Response<Body>, ApiError> {
    let id = ctx.id("id")?;
    ctx.caller()?.require(ctx.app, Permission::SET_ROLE).await?;
    let body: RoleRequest = json_body(&ctx.request, &ctx.app.settings)?;
    let role = body.into_role(&ctx.app.settings.assignable_roles)?;
    // A role that may no longer impersonate ends the sessions the user opened by impersonating
    // someone.
    let demoted = !ctx.app.settings.access.user_may(
        id,
        Some(&role),
        &Permission::IMPERSONATE.request(),
        Connector::And,
    );
    let user = ctx
        .app
        .accounts()
        .await?
        .set_role(id, &role, demoted)
        .await?
        .ok_or_else(ApiError::user_not_found)?;
    ok(&json!({"user": user}))
}

async fn ban(ctx: Ctx<'_>) -> Result<Response<Body>, ApiError> {
    let id = ctx.id("id")?;
    let caller = ctx.caller()?;
    caller.require(ctx.app, Permission::BAN).await?;
    let body: BanRequest = if ctx.request.body().is_empty() {
        BanRequest::default()
    } else {
        json_body(&ctx.request, &ctx.app.settings)?
    };
    let ban = body.into_ban(Utc::now())?;
    let accounts = ctx.app.accounts().await?;
    // Compared as the id column compares (a uuid in upper case is the same user).
    if accounts.same_user(id, &caller.user_id).await? {
        return Err(ApiError::BadRequest {
            code: "YOU_CANNOT_BAN_YOURSELF",
            message: "You cannot ban yourself".into(),
        });
    }
    let user = accounts
        .ban(id, &ban.reason, ban.until)
        .await?
        .ok_or_else(ApiError::user_not_found)?;
    tracing::info!(admin = %caller.user_id, user = %user.id, "user banned");
    ok(&json!({"user": user}))
}

async fn unban(ctx: Ctx<'_>) -> Result<Response<Body>, ApiError> {
    let id = ctx.id("id")?;
    let caller = ctx.caller()?;
    caller.require(ctx.app, Permission::BAN).await?;
    let user = ctx
        .app
        .accounts()
        .await?
        .unban(id)
        .await?
        .ok_or_else(ApiError::user_not_found)?;
    tracing::info!(admin = %caller.user_id, user = %user.id, "user unbanned");
    ok(&json!({"user": user}))
}

async fn api_keys(ctx: Ctx<'_>) -> Result<Response<Body>, ApiError> {
    let id = ctx.id("id")?;
    ctx.caller()?
        .require_self_or(ctx.app, id, Permission::GET_USER)
        .await?;
    let keys = ctx.app.accounts().await?.api_keys_of(id).await?;
    ok(&json!({"apiKeys": keys}))
}
