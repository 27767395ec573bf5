//! One route table per function: method, path pattern, who may call, handler. 404, 405 (with
//! `Allow`), the preflight's allowed methods and the caller check all derive from the table, and
//! a test holds the tables, `openapi.json`, both SAM templates and the `cargo lambda watch`
//! router to the same list.
//!
//! ```text
//! pub const ROUTES: &[Route] = &[
//!     Route::new(Method::GET, "/users/{id}", Access::Caller, handler!(get)),
//! ];
//! ```

use std::future::Future;
use std::pin::Pin;

use lambda_http::http::{HeaderValue, Method, header};
use lambda_http::{Body, Request, Response};

use crate::http::{ApiError, App, Caller, caller, check_cross_site, path_id, segments, serve};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (health checks, credential verification).
    Public,
    /// A verified caller: the authorizer's context, or the request's own credential.
    Caller,
}

/// What a handler returns.
pub type Reply<'a> = Pin<Box<dyn Future<Output = Result<Response<Body>, ApiError>> + Send + 'a>>;

/// A route's handler.
pub type Handler = for<'a> fn(Ctx<'a>) -> Reply<'a>;

/// Wraps an `async fn(Ctx<'_>) -> Result<Response<Body>, ApiError>` as a [`Handler`].
#[macro_export]
macro_rules! handler {
    ($f:path) => {
        |ctx| Box::pin($f(ctx))
    };
}

/// One line of a route table.
#[derive(Clone)]
pub struct Route {
    /// The HTTP method.
    pub method: Method,
    /// The path as API Gateway writes it: `/users/{id}/sessions/{session}`.
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
    /// What answers it.
    pub handler: Handler,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} ({:?})", self.method, self.path, self.access)
    }
}

impl Route {
    /// A table line.
    pub const fn new(method: Method, path: &'static str, access: Access, handler: Handler) -> Self {
        Self {
            method,
            path,
            access,
            handler,
        }
    }

    /// The path's `{name}` parameters bound to `segments`, when the path matches.
    fn bind(&self, segments: &[String]) -> Option<Vec<(&'static str, String)>> {
        let pattern: Vec<&'static str> = self.path.split('/').filter(|s| !s.is_empty()).collect();
        if pattern.len() != segments.len() {
            return None;
        }
        let mut params = Vec::new();
        for (part, segment) in pattern.iter().zip(segments) {
            match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                Some(name) => params.push((name, segment.clone())),
                None if part == segment => {}
                None => return None,
            }
        }
        Some(params)
    }
}

/// A request, its path parameters and (for [`Access::Caller`] routes) its verified caller.
pub struct Ctx<'a> {
    /// The function's state.
    pub app: &'a App,
    /// The request.
    pub request: Request,
    params: Vec<(&'static str, String)>,
    caller: Option<Caller>,
}

impl Ctx<'_> {
    /// A path parameter, checked to be a plain id (400 `INVALID_ID` otherwise).
    pub fn id(&self, name: &str) -> Result<&str, ApiError> {
        let value = self
            .params
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .ok_or(ApiError::Internal)?;
        path_id(value)
    }

    /// The verified caller (always present on [`Access::Caller`] routes).
    pub fn caller(&self) -> Result<&Caller, ApiError> {
        self.caller.as_ref().ok_or(ApiError::Unauthorized)
    }
}

/// Answers one request from `routes`: errors become JSON, CORS headers are added, preflights
/// answered, one log line written.
pub async fn dispatch(app: &App, routes: &'static [Route], request: Request) -> Response<Body> {
    let (path, allowed) = matching(routes, segments(&request));
    let methods = allow_header(&allowed);
    // Boxed: the caller check's future (the authenticator, the stores) is deep, and each
    // function's runtime wraps this one in more layers.
    serve(app, request, methods.clone(), |request| {
        Box::pin(route(app, &allowed, methods, path, request))
    })
    .await
}

/// The routes the path's tail matches, skipping the fewest leading segments: a custom domain's
/// base-path mapping (`api.example.com/v1`) or a stage left in the path is not part of a route.
fn matching(routes: &'static [Route], path: Vec<String>) -> (Vec<String>, Vec<&'static Route>) {
    for skip in 0..path.len() {
        let tail = &path[skip..];
        let found: Vec<&Route> = routes.iter().filter(|r| r.bind(tail).is_some()).collect();
        if !found.is_empty() {
            return (tail.to_vec(), found);
        }
    }
    (path, Vec::new())
}

fn allow_header(routes: &[&Route]) -> Option<HeaderValue> {
    if routes.is_empty() {
        return None;
    }
    let mut names: Vec<&str> = routes.iter().map(|r| r.method.as_str()).collect();
    names.push("OPTIONS");
    HeaderValue::from_str(&names.join(", ")).ok()
}

async fn route(
    app: &App,
    routes: &[&Route],
    methods: Option<HeaderValue>,
    path: Vec<String>,
    request: Request,
) -> Result<Response<Body>, ApiError> {
    if routes.is_empty() {
        return Err(ApiError::NotFound {
            code: "NOT_FOUND",
            message: "No such route",
        });
    }
    let Some(route) = routes.iter().find(|r| r.method == request.method()) else {
        let mut response = ApiError::MethodNotAllowed.response();
        if let Some(methods) = methods {
            response.headers_mut().insert(header::ALLOW, methods);
        }
        return Ok(response);
    };
    let params = route.bind(&path).unwrap_or_default();
    let caller = match route.access {
        Access::Public => None,
        Access::Caller => Some(caller(&request, app).await?),
    };
    let changes_state = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if changes_state && caller.as_ref().is_some_and(|c| c.via_cookie) {
        check_cross_site(&request, &app.settings)?;
    }
    (route.handler)(Ctx {
        app,
        request,
        params,
        caller,
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn nothing(_: Ctx<'_>) -> Result<Response<Body>, ApiError> {
        Err(ApiError::Internal)
    }

    const TABLE: &[Route] = &[
        Route::new(
            Method::GET,
            "/users/{id}",
            Access::Caller,
            handler!(nothing),
        ),
        Route::new(
            Method::GET,
            "/users/{id}/sessions/{session}",
            Access::Caller,
            handler!(nothing),
        ),
    ];

    fn path(p: &str) -> Vec<String> {
        p.split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn patterns_bind_their_parameters() {
        assert_eq!(
            TABLE[0].bind(&path("/users/u1")),
            Some(vec![("id", "u1".to_owned())])
        );
        assert_eq!(TABLE[0].bind(&path("/users")), None);
        assert_eq!(TABLE[0].bind(&path("/users/u1/role")), None);
        assert_eq!(
            TABLE[1].bind(&path("/users/u1/sessions/s2")),
            Some(vec![("id", "u1".to_owned()), ("session", "s2".to_owned())])
        );
        assert_eq!(TABLE[1].bind(&path("/users/u1/accounts/s2")), None);
    }

    #[test]
    fn a_base_path_before_the_route_is_skipped() {
        let (tail, found) = matching(TABLE, path("/v1/users/u1"));
        assert_eq!(tail, path("/users/u1"));
        assert_eq!(found.len(), 1);
        assert!(matching(TABLE, path("/v1/accounts/u1")).1.is_empty());
    }

    #[test]
    fn the_allow_header_lists_the_path_methods() {
        let routes: Vec<&Route> = TABLE.iter().take(1).collect();
        assert_eq!(
            allow_header(&routes).expect("some"),
            HeaderValue::from_static("GET, OPTIONS")
        );
        assert_eq!(allow_header(&[]), None);
    }
}
