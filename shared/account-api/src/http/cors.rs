//! CORS headers and preflights.

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};

use super::settings::*;

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
