//! Who is calling: the authorizer's context, else the request's own credential.

use std::sync::OnceLock;

use lambda_http::http::{HeaderMap, header};
use lambda_http::{Request, RequestExt};

use auth_core::access::Connector;
use auth_core::context::AuthorizerContext;
use auth_core::credentials::{CredentialError, CredentialSource, RawCredentials};

use super::error::*;
use super::permission::Permission;
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
    /// The role list as the credential carried it.
    pub role: Option<String>,
    /// Whether the user's own credential vouched (a session, a session JWT, the cookie cache):
    /// only then do their role's statements count. An API key never carries its owner's
    /// permissions (a key made with narrow `permissions` must not ban anyone; until the
    /// access-control rules check a key's permissions against a route's statement, permission
    /// routes refuse keys), nor does any other delegated credential.
    pub own_credential: bool,
    /// Whether the role was read from PostgreSQL for this request (a `session` lookup in the
    /// database); a JWT's claims, a cookie cache and a Redis snapshot carry a copy that can be
    /// older than a demotion.
    pub role_is_current: bool,
    /// Whether the session cookie proved who it is (an ambient credential a browser sends to
    /// any site's requests): then state-changing requests must pass the CSRF checks.
    pub via_cookie: bool,
    /// The role PostgreSQL holds now (`None`: no such user any more), read at most once per
    /// request, and only when a permission decision needs it.
    current_role: OnceLock<Option<Option<String>>>,
}

impl Caller {
    /// Whether the caller may do `permission` to others: Better Auth's admin `hasPermission`
    /// (an id in `adminUserIds`, or a role holding the statement) on the role PostgreSQL holds
    /// now. Always `false` for a delegated credential (an API key).
    ///
    /// A role that is a copy (a JWT's claims, a cookie cache, a session snapshot in secondary
    /// storage, which a race with Better Auth's own read-modify-write can even bring back after
    /// a demotion: issue 27, S1) is never decided on: the role is read from PostgreSQL (one
    /// primary-key query, as Better Auth's admin endpoints re-read the session).
    pub async fn may(&self, app: &App, permission: Permission) -> Result<bool, ApiError> {
        if !self.own_credential {
            return Ok(false);
        }
        let access = &app.settings.access;
        if access.admin_user_ids().contains(&self.user_id) {
            return Ok(true);
        }
        let copy = !self.role_is_current || app.auth.store().secondary().is_some();
        let role = if copy {
            match self.current_role(app).await? {
                Some(role) => role,
                // The user is gone: nobody's permissions.
                None => return Ok(false),
            }
        } else {
            self.role.as_deref()
        };
        Ok(access.user_may(&self.user_id, role, &permission.request(), Connector::And))
    }

    /// `Err(403)` (`FORBIDDEN`, Better Auth's message) unless the caller [`may`](Self::may) do
    /// `permission`.
    pub async fn require(&self, app: &App, permission: Permission) -> Result<(), ApiError> {
        if self.may(app, permission).await? {
            Ok(())
        } else {
            tracing::info!(
                user_id = %self.user_id,
                permission = %permission,
                "permission refused"
            );
            Err(ApiError::Forbidden {
                code: "FORBIDDEN",
                message: permission.message,
            })
        }
    }

    /// `Ok` when the caller is `user_id` (self-access needs no statement), else
    /// [`require`](Self::require).
    pub async fn require_self_or(
        &self,
        app: &App,
        user_id: &str,
        permission: Permission,
    ) -> Result<(), ApiError> {
        if self.user_id == user_id {
            Ok(())
        } else {
            self.require(app, permission).await
        }
    }

    async fn current_role(&self, app: &App) -> Result<Option<Option<&str>>, ApiError> {
        let known = match self.current_role.get() {
            Some(known) => known,
            None => {
                let user = app.accounts().await?.user(&self.user_id).await?;
                self.current_role.get_or_init(|| user.map(|u| u.role))
            }
        };
        Ok(known.as_ref().map(|role| role.as_deref()))
    }
}

/// What the account functions answer a machine principal (an organization's API key): every
/// route here is a user's, and it is nobody's user.
const NO_USER: ApiError = ApiError::Forbidden {
    code: "NO_USER",
    message: "This credential acts for an organization, not a user",
};

/// What the account functions answer an OAuth access token: these routes are Better Auth's
/// session endpoints' counterparts, which take no OAuth token.
const OAUTH_NOT_ACCEPTED: ApiError = ApiError::Forbidden {
    code: "oauth_token_not_accepted",
    message: "OAuth access tokens cannot call the account routes",
};

/// The authorizer's context as API Gateway passed it, when it did (REST:
/// `requestContext.authorizer`; HTTP API: `requestContext.authorizer.lambda`).
fn passed_context(request: &Request) -> Option<AuthorizerContext> {
    let context = request.request_context_ref()?;
    AuthorizerContext::from_fields(&context.authorizer()?.fields)
}

/// The authorizer's context, when API Gateway passed one naming a user. Values may arrive as
/// strings.
pub fn authorizer_caller(request: &Request) -> Option<Caller> {
    let passed = passed_context(request)?;
    // A context naming an organization principal is nobody's, whatever else it carries; an
    // OAuth access token is the client's, acting within its scopes: never a caller here.
    if passed.reference_type.is_some() || passed.client_id.is_some() {
        return None;
    }
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
    // Permissions come with the user's own credential only (a session, a session JWT, the
    // cookie cache), never with a delegated one (an API key, an OAuth token): checked as a
    // positive list, so a method added later grants none until it says so.
    let own_credential = api_key_id.is_none()
        && matches!(
            passed.verified_by.as_deref(),
            Some("session" | "jwt" | "cookie-cache")
        );
    Some(Caller {
        own_credential,
        current_role: OnceLock::new(),
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
/// What the caller may do to others is decided per route ([`Caller::require`]), on the role
/// PostgreSQL holds then.
pub async fn caller(request: &Request, app: &App) -> Result<Caller, ApiError> {
    if let Some(caller) = authorizer_caller(request) {
        return Ok(caller);
    }
    // The authorizer vouched for a principal with no user (an organization's key, any machine
    // principal): refused here, without using its credential a second time.
    if let Some(passed) = passed_context(request) {
        if passed.client_id.is_some() {
            return Err(OAUTH_NOT_ACCEPTED);
        }
        if passed.verified_by.is_some() || passed.reference_type.is_some() {
            return Err(NO_USER);
        }
    }
    let raw = raw_credentials(request.headers(), app.auth.extra_headers())
        .map_err(|_| ApiError::Unauthorized)?;
    let authenticated = app.auth.authenticate(&raw).await?;
    let identity = authenticated.identity;
    // The account routes are Better Auth's session endpoints' counterparts: an OAuth access
    // token (a client acting within its scopes, or a machine with no user at all) is never
    // one of their callers.
    if identity.grant.oauth().is_some() {
        return Err(OAUTH_NOT_ACCEPTED);
    }
    let Some(user_id) = identity.user_id else {
        return Err(NO_USER);
    };
    Ok(Caller {
        own_credential: matches!(identity.grant, auth_core::identity::Grant::User),
        current_role: OnceLock::new(),
        role_is_current: authenticated.method == auth_core::MethodName::Session,
        api_key_id: identity.grant.api_key().map(|k| k.id.clone()),
        session_id: identity.session_id,
        user_id,
        role: identity.role,
        via_cookie: authenticated.source == CredentialSource::Cookie,
    })
}
