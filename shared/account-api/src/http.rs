//! HTTP plumbing shared by the `me`, `users` and `sessions` functions: who the caller is, JSON
//! bodies, CORS, and the one mapping from errors to responses.

use std::collections::HashSet;

use lambda_http::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use auth_core::context::AuthorizerContext;
use auth_core::credentials::{CredentialError, CredentialSource, RawCredentials};
use auth_core::env::Env;
use auth_core::{AuthError, Authenticator, Config, ConfigError, Refusal, StoreError};

use crate::store::{AccountError, AccountStore};

/// Settings of the account-management API, parsed once at cold start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiSettings {
    /// `ADMIN_ROLES` (default `admin`): a caller with one of these roles is an admin.
    pub admin_roles: Vec<String>,
    /// `ADMIN_USER_IDS` (default none): these users are admins whatever their role
    /// (Better Auth's `adminUserIds`).
    pub admin_user_ids: Vec<String>,
    /// `ASSIGNABLE_ROLES` (default `admin,user`): roles `PUT /users/{id}/role` may set.
    pub assignable_roles: Vec<String>,
    /// `CORS_ALLOWED_ORIGINS` (default none): origins allowed to call with credentials.
    pub cors_origins: HashSet<String>,
    /// Origins a cookie-authenticated state-changing request may come from: the CORS origins,
    /// `BETTER_AUTH_TRUSTED_ORIGINS` (Better Auth's `trustedOrigins`, `*` wildcards allowed in
    /// the host) and the origin of `BETTER_AUTH_URL`.
    pub trusted_origins: Vec<String>,
    /// `MAX_BODY_BYTES` (default 16384).
    pub max_body_bytes: usize,
    /// `USERS_MAX_LIMIT` (default 500): the cap on `GET /users`' `limit`.
    pub max_list_limit: i64,
}

fn list(value: Option<String>, default: &str) -> Vec<String> {
    value
        .unwrap_or_else(|| default.to_owned())
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

impl ApiSettings {
    /// Whether a stored role list holds an admin role, split exactly as Better Auth splits it
    /// (at commas, untrimmed: `"user, admin"` is not an admin).
    pub fn grants_admin(&self, role: Option<&str>) -> bool {
        auth_core::identity::split_roles(role).any(|r| self.admin_roles.iter().any(|a| a == r))
    }

    /// Reads settings through `lookup` (empty values count as unset).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env::new(&lookup);
        let get = |name: &str| env.get(name);
        let invalid = |var: &'static str, reason: &str| auth_core::env::invalid(var, reason);
        let cors_origins: HashSet<String> =
            list(get("CORS_ALLOWED_ORIGINS"), "").into_iter().collect();
        for origin in &cors_origins {
            let ok = (origin.starts_with("https://") || origin.starts_with("http://"))
                && !origin.ends_with('/')
                && !origin.contains('*');
            if !ok {
                return Err(invalid(
                    "CORS_ALLOWED_ORIGINS",
                    "list exact origins like https://app.example.com (no paths, no wildcards: credentials are allowed)",
                ));
            }
        }
        let mut trusted_origins: Vec<String> = cors_origins.iter().cloned().collect();
        for origin in list(get("BETTER_AUTH_TRUSTED_ORIGINS"), "") {
            let ok = (origin.starts_with("https://") || origin.starts_with("http://"))
                && !origin.ends_with('/')
                && origin.matches('*').count() <= 1
                && origin_of_url(&origin).as_deref() == Some(origin.as_str());
            if !ok {
                return Err(invalid(
                    "BETTER_AUTH_TRUSTED_ORIGINS",
                    "list origins like https://app.example.com or https://*.example.com (no paths)",
                ));
            }
            trusted_origins.push(origin);
        }
        if let Some(base) = get("BETTER_AUTH_URL").as_deref().and_then(origin_of_url) {
            trusted_origins.push(base);
        }
        trusted_origins.sort();
        trusted_origins.dedup();
        let assignable_roles = list(get("ASSIGNABLE_ROLES"), "admin,user");
        if assignable_roles
            .iter()
            .any(|r| r.contains(char::is_whitespace))
        {
            return Err(invalid("ASSIGNABLE_ROLES", "roles cannot contain spaces"));
        }
        Ok(Self {
            admin_roles: list(get("ADMIN_ROLES"), "admin"),
            admin_user_ids: list(get("ADMIN_USER_IDS"), ""),
            assignable_roles,
            cors_origins,
            trusted_origins,
            max_body_bytes: env.number("MAX_BODY_BYTES", 16 * 1024, 256, 1024 * 1024)?,
            max_list_limit: env.number("USERS_MAX_LIMIT", 500, 1, 10_000)?,
        })
    }
}

/// What every function holds for its container's life.
#[derive(Debug)]
pub struct App {
    /// Session validation and the database.
    pub auth: Authenticator,
    /// API settings.
    pub settings: ApiSettings,
}

impl App {
    /// Reads the environment once; no I/O.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// From an already parsed [`Config`] (e.g. `auth_core::aws::config_from_env`) and the
    /// environment's API settings.
    pub fn from_config(config: &Config) -> Result<Self, ConfigError> {
        Ok(Self {
            auth: Authenticator::new(config)?,
            settings: ApiSettings::from_lookup(|name| std::env::var(name).ok())?,
        })
    }

    /// Reads settings through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let config = Config::from_lookup(&lookup)?;
        Ok(Self {
            auth: Authenticator::new(&config)?,
            settings: ApiSettings::from_lookup(&lookup)?,
        })
    }

    /// The account store (detects the schema on first use).
    pub async fn accounts(&self) -> Result<AccountStore<'_>, ApiError> {
        Ok(AccountStore::open(self.auth.database())
            .await?
            .with_secondary_storage(self.auth.store().secondary())
            .with_api_key_configs(self.auth.api_key_user_configs().to_vec()))
    }
}

/// Every error an API response can carry, mapped to a status and a Better-Auth-style code here
/// and nowhere else. Messages never carry SQL, tokens or internal details.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ApiError {
    /// 400 with a specific code.
    #[error("{message}")]
    BadRequest {
        /// Better-Auth-style code.
        code: &'static str,
        /// What is wrong.
        message: String,
    },
    /// 401.
    #[error("Unauthorized")]
    Unauthorized,
    /// 403.
    #[error("{message}")]
    Forbidden {
        /// Code.
        code: &'static str,
        /// Why.
        message: &'static str,
    },
    /// 404.
    #[error("{message}")]
    NotFound {
        /// Code.
        code: &'static str,
        /// What.
        message: &'static str,
    },
    /// 405.
    #[error("Method not allowed")]
    MethodNotAllowed,
    /// 409.
    #[error("{message}")]
    Conflict {
        /// Code.
        code: &'static str,
        /// What.
        message: &'static str,
    },
    /// 413.
    #[error("The request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// 415.
    #[error("The request body must be JSON (content-type: application/json)")]
    UnsupportedMediaType,
    /// 500: the database does not support what was asked (admin columns, account table).
    #[error("Not supported by this deployment's database: {0}")]
    Unsupported(&'static str),
    /// 503.
    #[error("The database is unavailable; try again")]
    Unavailable,
    /// 500.
    #[error("Internal error")]
    Internal,
}

impl ApiError {
    /// 400 `INVALID_REQUEST`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::BadRequest {
            code: "INVALID_REQUEST",
            message: message.into(),
        }
    }

    /// 403 `FORBIDDEN`.
    pub fn forbidden() -> Self {
        Self::Forbidden {
            code: "FORBIDDEN",
            message: "You are not allowed to do this",
        }
    }

    /// 404 `USER_NOT_FOUND`.
    pub fn user_not_found() -> Self {
        Self::NotFound {
            code: "USER_NOT_FOUND",
            message: "User not found",
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Unsupported(_) | Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The code in the JSON body.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest { code, .. }
            | Self::Forbidden { code, .. }
            | Self::NotFound { code, .. } => code,
            Self::Conflict { code, .. } => code,
            Self::Unauthorized => "UNAUTHORIZED",
            Self::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Self::PayloadTooLarge(_) => "PAYLOAD_TOO_LARGE",
            Self::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            Self::Unsupported(_) => "NOT_SUPPORTED",
            Self::Unavailable => "SERVICE_UNAVAILABLE",
            Self::Internal => "INTERNAL_SERVER_ERROR",
        }
    }

    /// `{"code": …, "message": …}` with the status.
    pub fn response(&self) -> Response<Body> {
        json(
            self.status(),
            &json!({"code": self.code(), "message": self.to_string()}),
        )
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::Store(store) => store.into(),
            AuthError::Keys(error) => {
                tracing::error!(error = %error, "jwt keys unavailable");
                Self::Unavailable
            }
            AuthError::Refused {
                reason: Refusal::Banned,
                ..
            } => Self::Forbidden {
                code: "BANNED_USER",
                message: "You have been banned from this application",
            },
            AuthError::Refused {
                reason: Refusal::EmailNotVerified,
                ..
            } => Self::Forbidden {
                code: "EMAIL_NOT_VERIFIED",
                message: "Email not verified",
            },
            AuthError::Credential(_) | AuthError::Token(_) | AuthError::Refused { .. } => {
                Self::Unauthorized
            }
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::InvalidInput => Self::invalid("A value does not fit its field"),
            StoreError::Conflict => Self::Conflict {
                code: "USER_ALREADY_EXISTS",
                message: "A user with this email already exists",
            },
            StoreError::Query(message) => {
                tracing::error!(error = %message, "query failed");
                Self::Internal
            }
            other => {
                tracing::error!(error = %other, "database unavailable");
                Self::Unavailable
            }
        }
    }
}

impl From<AccountError> for ApiError {
    fn from(error: AccountError) -> Self {
        match error {
            AccountError::Store(e) => e.into(),
            AccountError::Unsupported(what) => Self::Unsupported(what),
        }
    }
}

/// A JSON response that is never cached.
pub fn json<T: Serialize>(status: StatusCode, body: &T) -> Response<Body> {
    let text = serde_json::to_string(body).unwrap_or_else(|_| "{}".to_owned());
    let mut response = Response::new(Body::Text(text));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `200` with a JSON body.
pub fn ok<T: Serialize>(body: &T) -> Result<Response<Body>, ApiError> {
    Ok(json(StatusCode::OK, body))
}

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
    /// Whether the caller is an admin (a role in `ADMIN_ROLES` or an id in `ADMIN_USER_IDS`).
    pub is_admin: bool,
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

fn is_admin(settings: &ApiSettings, user_id: &str, role: Option<&str>) -> bool {
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
    Some(Caller {
        is_admin: is_admin(settings, &user_id, passed.role.as_deref()),
        api_key_id: passed.api_key_id.filter(|id| !id.is_empty()),
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
pub async fn caller(request: &Request, app: &App) -> Result<Caller, ApiError> {
    if let Some(caller) = authorizer_caller(request, &app.settings) {
        return Ok(caller);
    }
    let raw = raw_credentials(request.headers(), app.auth.extra_headers())
        .map_err(|_| ApiError::Unauthorized)?;
    let authenticated = app.auth.authenticate(&raw).await?;
    let identity = authenticated.identity;
    Ok(Caller {
        is_admin: is_admin(&app.settings, &identity.user_id, identity.role.as_deref()),
        api_key_id: identity.grant.api_key().map(|k| k.id.clone()),
        session_id: identity.session_id,
        user_id: identity.user_id,
        role: identity.role,
        via_cookie: authenticated.source == CredentialSource::Cookie,
    })
}

/// Whether `origin` (`scheme://host[:port]`) is one of `trusted`: exact, or a pattern with `*`
/// standing for any run of characters within the host (`https://*.example.com`).
fn origin_matches(origin: &str, trusted: &[String]) -> bool {
    trusted.iter().any(|pattern| match pattern.split_once('*') {
        None => pattern.eq_ignore_ascii_case(origin),
        Some((prefix, suffix)) => {
            origin.len() >= prefix.len() + suffix.len()
                && origin[..prefix.len()].eq_ignore_ascii_case(prefix)
                && origin[origin.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
                && !origin[prefix.len()..origin.len() - suffix.len()].contains(['/', ':'])
        }
    })
}

/// The origin (`scheme://host[:port]`) of a URL such as a `Referer`.
fn origin_of_url(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    (!host.is_empty()).then(|| format!("{scheme}://{host}"))
}

/// The CSRF checks of a state-changing request authenticated by the session cookie, as Better
/// Auth's origin check does them: the request comes from a trusted origin (`Origin`, else
/// `Sec-Fetch-Site: same-origin`, else the `Referer`'s origin), and it is not a "simple"
/// request a page could send without a preflight (`application/json`, even with no body).
pub fn check_cross_site(request: &Request, settings: &ApiSettings) -> Result<(), ApiError> {
    let headers = request.headers();
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let trusted = match text("origin") {
        Some("null") | Some("") => false,
        Some(origin) => origin_matches(origin, &settings.trusted_origins),
        None if text("sec-fetch-site") == Some("same-origin") => true,
        None => text("referer")
            .and_then(origin_of_url)
            .is_some_and(|origin| origin_matches(&origin, &settings.trusted_origins)),
    };
    if !trusted {
        let missing = text("origin").is_none_or(|o| o == "null")
            && text("referer").is_none()
            && text("sec-fetch-site").is_none();
        return Err(if missing {
            ApiError::Forbidden {
                code: "MISSING_OR_NULL_ORIGIN",
                message: "Missing or null Origin",
            }
        } else {
            ApiError::Forbidden {
                code: "INVALID_ORIGIN",
                message: "Invalid origin",
            }
        });
    }
    if !is_json_content_type(request) {
        return Err(ApiError::UnsupportedMediaType);
    }
    Ok(())
}

fn is_json_content_type(request: &Request) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .is_some_and(|v| {
            v == "application/json" || (v.starts_with("application/") && v.ends_with("+json"))
        })
}

/// The path's segments, without an API Gateway stage prefix or cargo lambda's
/// `/lambda-url/<function>` prefix.
pub fn segments(request: &Request) -> Vec<String> {
    let path = request.raw_http_path();
    let path = if path.is_empty() {
        request.uri().path().to_owned()
    } else {
        path.to_owned()
    };
    let mut parts: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    if parts.first().map(String::as_str) == Some("lambda-url") && parts.len() >= 2 {
        parts.drain(..2);
    }
    let stage = request
        .request_context_ref()
        .and_then(|c| match c {
            lambda_http::request::RequestContext::ApiGatewayV1(ctx) => ctx.stage.clone(),
            lambda_http::request::RequestContext::ApiGatewayV2(ctx) => ctx.stage.clone(),
            _ => None,
        })
        .filter(|s| s != "$default");
    if let (Some(stage), Some(first)) = (stage, parts.first())
        && *first == stage
        && !matches!(first.as_str(), "auth" | "users" | "health")
    {
        parts.remove(0);
    }
    parts
}

/// One query-string parameter (the first, when repeated).
pub fn query_param(request: &Request, name: &str) -> Option<String> {
    request
        .query_string_parameters_ref()
        .and_then(|q| q.first(name))
        .map(str::to_owned)
}

/// A path id (user or session): letters, digits, `-` and `_`, 1 to 255 characters.
pub fn path_id(value: &str) -> Result<&str, ApiError> {
    let ok = !value.is_empty()
        && value.len() <= 255
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(value)
    } else {
        Err(ApiError::BadRequest {
            code: "INVALID_ID",
            message: "ids are 1 to 255 letters, digits, - or _".to_owned(),
        })
    }
}

/// Parses a JSON body: `application/json`, at most `MAX_BODY_BYTES`, valid UTF-8 and the exact
/// shape `T` (unknown fields refused by `T`'s `deny_unknown_fields`).
pub fn json_body<T: DeserializeOwned>(
    request: &Request,
    settings: &ApiSettings,
) -> Result<T, ApiError> {
    let bytes: &[u8] = request.body().as_ref();
    if bytes.len() > settings.max_body_bytes {
        return Err(ApiError::PayloadTooLarge(settings.max_body_bytes));
    }
    if !is_json_content_type(request) {
        return Err(ApiError::UnsupportedMediaType);
    }
    let text =
        std::str::from_utf8(bytes).map_err(|_| ApiError::invalid("The body is not valid UTF-8"))?;
    serde_json::from_str(text).map_err(|e| ApiError::invalid(format!("Invalid body: {e}")))
}

/// Adds CORS headers when the request's `Origin` is allowed.
pub fn with_cors(
    mut response: Response<Body>,
    origin: Option<&HeaderValue>,
    settings: &ApiSettings,
) -> Response<Body> {
    let origin = origin.and_then(|v| v.to_str().ok());
    let headers = response.headers_mut();
    headers.append(header::VARY, HeaderValue::from_static("origin"));
    if let Some(origin) = origin.filter(|o| settings.cors_origins.contains(*o))
        && let Ok(value) = HeaderValue::from_str(origin)
    {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
    response
}

/// The answer to a CORS preflight (`OPTIONS`): the path's methods, from its route table; the
/// credential headers, the API key headers among them when the `api-key` method is on.
pub fn preflight(
    request: &Request,
    settings: &ApiSettings,
    methods: Option<HeaderValue>,
    api_key_headers: &[String],
) -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::NO_CONTENT;
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        methods.unwrap_or(HeaderValue::from_static("OPTIONS")),
    );
    let mut allowed = vec!["authorization", "content-type"];
    allowed.extend(api_key_headers.iter().map(String::as_str));
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_str(&allowed.join(", "))
            .unwrap_or(HeaderValue::from_static("authorization, content-type")),
    );
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    with_cors(response, request.headers().get(header::ORIGIN), settings)
}

/// Runs a routed handler and finishes the response: errors become JSON, CORS headers added,
/// preflights answered, and one log line per request (never a token or body).
pub async fn serve<F, Fut>(
    app: &App,
    request: Request,
    methods: Option<HeaderValue>,
    route: F,
) -> Response<Body>
where
    F: FnOnce(Request) -> Fut,
    Fut: std::future::Future<Output = Result<Response<Body>, ApiError>>,
{
    let started = std::time::Instant::now();
    let method = request.method().clone();
    let origin = request.headers().get(header::ORIGIN).cloned();
    let preflight_request = method == Method::OPTIONS;
    let response = if preflight_request {
        preflight(&request, &app.settings, methods, app.auth.extra_headers())
    } else {
        let response = match route(request).await {
            Ok(response) => response,
            Err(error) => error.response(),
        };
        with_cors(response, origin.as_ref(), &app.settings)
    };
    tracing::info!(
        method = %method,
        status = response.status().as_u16(),
        latency_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn settings(pairs: &[(&str, &str)]) -> Result<ApiSettings, ConfigError> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(a, b)| ((*a).into(), (*b).into()))
            .collect();
        ApiSettings::from_lookup(|k| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
    }

    #[test]
    fn defaults_and_validation() {
        let s = settings(&[]).expect("defaults");
        assert_eq!(s.admin_roles, ["admin"]);
        assert_eq!(s.assignable_roles, ["admin", "user"]);
        assert!(s.cors_origins.is_empty());
        for (var, value) in [
            ("CORS_ALLOWED_ORIGINS", "*"),
            ("CORS_ALLOWED_ORIGINS", "https://a.example.com/"),
            ("CORS_ALLOWED_ORIGINS", "a.example.com"),
            ("MAX_BODY_BYTES", "1"),
            ("USERS_MAX_LIMIT", "0"),
            ("ASSIGNABLE_ROLES", "super user"),
        ] {
            assert!(settings(&[(var, value)]).is_err(), "{var}={value}");
        }
    }

    #[test]
    fn admins_by_role_or_id() {
        let s = settings(&[("ADMIN_USER_IDS", "u-root"), ("ADMIN_ROLES", "admin,owner")])
            .expect("valid");
        assert!(is_admin(&s, "u-root", None));
        assert!(is_admin(&s, "u1", Some("user,owner")));
        assert!(
            !is_admin(&s, "u1", Some("user, owner")),
            "Better Auth does not trim roles"
        );
        assert!(!is_admin(&s, "u1", Some("user,administrator")));
        assert!(!is_admin(&s, "u1", None));
    }

    #[test]
    fn origins_match_exactly_or_by_host_pattern() {
        let trusted = vec![
            "https://app.example.com".to_owned(),
            "https://*.example.org".to_owned(),
        ];
        assert!(origin_matches("https://app.example.com", &trusted));
        assert!(origin_matches("https://APP.example.com", &trusted));
        assert!(origin_matches("https://a.b.example.org", &trusted));
        for foreign in [
            "https://evil.com",
            "http://app.example.com",
            "https://app.example.com.evil.com",
            "https://evil.com/.example.org",
            "https://example.org",
        ] {
            assert!(!origin_matches(foreign, &trusted), "{foreign}");
        }
        assert_eq!(
            origin_of_url("https://app.example.com:8443/path?q#f").as_deref(),
            Some("https://app.example.com:8443")
        );
        let s = settings(&[
            ("CORS_ALLOWED_ORIGINS", "https://app.example.com"),
            ("BETTER_AUTH_TRUSTED_ORIGINS", "https://*.example.org"),
            ("BETTER_AUTH_URL", "https://auth.example.com/api/auth"),
        ])
        .expect("valid");
        assert_eq!(
            s.trusted_origins,
            [
                "https://*.example.org",
                "https://app.example.com",
                "https://auth.example.com"
            ]
        );
        assert!(settings(&[("BETTER_AUTH_TRUSTED_ORIGINS", "https://a.example.com/x")]).is_err());
    }

    #[test]
    fn path_ids_are_plain() {
        assert!(path_id("abc-DEF_123").is_ok());
        assert!(path_id("0b2e6c1c-5a5e-4b1e-9f0a-3c2d1e0f9a8b").is_ok());
        for bad in ["", "a b", "a'--", "a/b", "é", &"a".repeat(256)] {
            assert!(path_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn errors_are_json_with_a_code() {
        let response = ApiError::user_not_found().response();
        assert_eq!(response.status(), 404);
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
        let body: Value = match response.body() {
            Body::Text(t) => serde_json::from_str(t).expect("json"),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            body,
            json!({"code": "USER_NOT_FOUND", "message": "User not found"})
        );
    }
}
