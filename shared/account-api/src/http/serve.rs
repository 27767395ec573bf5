//! Running a routed handler: errors as JSON, CORS, one log line per request.

use lambda_http::http::{HeaderValue, Method, header};
use lambda_http::{Body, Request, Response};

use super::cors::*;
use super::error::*;
use super::settings::*;

/// Runs a routed handler and finishes the response: errors become JSON, CORS headers added,
/// preflights answered, and one log line per request (never a token or body), carrying the
/// request's metrics when they are on.
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
    let status = response.status().as_u16();
    let latency_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    // With METRICS_ENABLED, the request's EMF record rides on this line (`emf`); the trace id
    // is added to every line by the log format.
    tracing::info!(
        method = %method,
        status,
        latency_us,
        emf = app.auth.metrics().request(status, latency_us),
    );
    response
}
