//! Who is calling: the authorizer's context, else the request's own credential.

use lambda_http::http::{HeaderMap, header};
use lambda_http::{Request, RequestExt};

use auth_core::context::AuthorizerContext;
use auth_core::credentials::{CredentialError, CredentialSource, RawCredentials};

use super::error::*;
use super::settings::*;

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The user's id.
    pub user_id: String,
    /// The session's id (for `current` and `keepCurrent`).
    pub session_id: Option<String>,
    /// The API key's id, when an API key vouched for the caller.
    pub api_key_id: Option<String>,
    /// The role list as stored.
    pub role: Option<String>,
    /// Whether the caller is an admin (a role in `ADMIN_ROLES` or an id in `ADMIN_USER_IDS`)
    /// acting with their own session: an API key never carries its owner's admin power (a key
    /// made with narrow `permissions` must not ban anyone; until the access-control rules can
    /// check a key's permissions against a route's statement, admin routes refuse keys).
    pub is_admin: bool,
    /// Whether the role was read from PostgreSQL for this request (a `session` lookup in the
    /// database); a JWT's claims, a cookie cache and a Redis snapshot carry a copy that can be
    /// older than a demotion.
    pub role_is_current: bool,
    /// Whether the session cookie proved who it is (an ambient credential a browser sends to
    /// any site's requests): then state-changing requests must pass the CSRF checks.
    pub via_cookie: bool,
}

impl Caller {
    /// True when the caller is `user_id` or an admin.
    pub fn may_act_on(&self, user_id: &str) -> bool {
        self.is_admin || self.user_id == user_id
    }

    /// `Err(403)` unless admin.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.is_admin {
            Ok(())
        } else {
            Err(ApiError::forbidden())
        }
    }
}

pub(crate) fn is_admin(settings: &ApiSettings, user_id: &str, role: Option<&str>) -> bool {
    settings.admin_user_ids.iter().any(|id| id == user_id) || settings.grants_admin(role)
}

/// The authorizer's context, when API Gateway passed one (REST: `requestContext.authorizer`;
/// HTTP API: `requestContext.authorizer.lambda`). Values may arrive as strings.
pub fn authorizer_caller(request: &Request, settings: &ApiSettings) -> Option<Caller> {
    let context = request.request_context_ref()?;
    let passed = AuthorizerContext::from_fields(&context.authorizer()?.fields)?;
    let user_id = passed.user_id.filter(|id| !id.is_empty())?;
    // The authorizer says how the caller was verified; without that, a request that carries a
    // cookie and no Authorization header counts as cookie-authenticated (the safe side).
    let via_cookie = match passed.auth_method.as_deref() {
        Some(method) => method == CredentialSource::Cookie.as_str(),
        None => {
            let headers = request.headers();
            headers
                .get_all(header::COOKIE)
                .iter()
                .any(|v| !v.as_bytes().trim_ascii().is_empty())
                && !headers.contains_key(header::AUTHORIZATION)
        }
    };
    let api_key_id = passed.api_key_id.filter(|id| !id.is_empty());
    // Admin power comes with the user's own credential only (a session, a session JWT, the
    // cookie cache), never with a delegated one (an API key, an OAuth token): checked as a
    // positive list, so a method added later grants none until it says so.
    let own_credential = api_key_id.is_none()
        && matches!(
            passed.verified_by.as_deref(),
            Some("session" | "jwt" | "cookie-cache")
        );
    Some(Caller {
        is_admin: own_credential && is_admin(settings, &user_id, passed.role.as_deref()),
        role_is_current: passed.verified_by.as_deref() == Some("session"),
        api_key_id,
        session_id: passed.session_id.filter(|id| !id.is_empty()),
        user_id,
        role: passed.role,
        via_cookie,
    })
}

/// The request's `Authorization`, `Cookie` and API key (`api_key_headers`) header values.
pub fn raw_credentials<'a>(
    headers: &'a HeaderMap,
    api_key_headers: &[String],
) -> Result<RawCredentials<'a>, CredentialError> {
    let text = |value: &'a lambda_http::http::HeaderValue| {
        std::str::from_utf8(value.as_bytes()).map_err(|_| CredentialError::Malformed)
    };
    let mut raw = RawCredentials::default();
    for value in headers.get_all(header::AUTHORIZATION) {
        raw.authorization.push(text(value)?);
    }
    for value in headers.get_all(header::COOKIE) {
        raw.cookies.push(text(value)?);
    }
    for name in api_key_headers {
        for value in headers.get_all(name.as_str()) {
            raw.api_keys.push(text(value)?);
        }
    }
    Ok(raw)
}

/// Who is calling: the authorizer's context when present, else the request's own token checked
/// with the shared validator (a Function URL, `cargo lambda watch`). A function is never open.
///
/// An admin by role whose role is a copy (a JWT's claims, a cookie cache, a session snapshot in
/// secondary storage, which a race with Better Auth's own read-modify-write can even bring back
/// after a demotion: issue 27, S1) is confirmed by the role PostgreSQL holds now: one
/// primary-key query, paid by such admin callers only.
pub async fn caller(request: &Request, app: &App) -> Result<Caller, ApiError> {
    let mut caller = identify(request, app).await?;
    let by_role = caller.is_admin && !app.settings.admin_user_ids.contains(&caller.user_id);
    if by_role && (!caller.role_is_current || app.auth.store().secondary().is_some()) {
        let current = app.accounts().await?.user(&caller.user_id).await?;
        caller.is_admin =
            current.is_some_and(|user| app.settings.grants_admin(user.role.as_deref()));
    }
    Ok(caller)
}

async fn identify(request: &Request, app: &App) -> Result<Caller, ApiError> {
    if let Some(caller) = authorizer_caller(request, &app.settings) {
        return Ok(caller);
    }
    let raw = raw_credentials(request.headers(), app.auth.extra_headers())
        .map_err(|_| ApiError::Unauthorized)?;
    let authenticated = app.auth.authenticate(&raw).await?;
    let identity = authenticated.identity;
    let own_credential = matches!(identity.grant, auth_core::identity::Grant::User);
    Ok(Caller {
        is_admin: own_credential
            && is_admin(&app.settings, &identity.user_id, identity.role.as_deref()),
        role_is_current: authenticated.method == auth_core::MethodName::Session,
        api_key_id: identity.grant.api_key().map(|k| k.id.clone()),
        session_id: identity.session_id,
        user_id: identity.user_id,
        role: identity.role,
        via_cookie: authenticated.source == CredentialSource::Cookie,
    })
}
