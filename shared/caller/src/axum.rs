//! axum on `lambda_http`: [`Caller`] as an extractor, [`CallerError`] as a response.
//!
//! The extractor reads the authorizer's context from the request's extensions (where
//! `lambda_http` puts the request context). To verify in place where no authorizer runs, put
//! an `Arc<Callers>` in the router's state and call [`Callers::caller_of`] with the parts.

use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, Response};
use lambda_http::http::request::Parts;
use lambda_http::request::RequestContext;

use crate::{Caller, CallerError};

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = CallerError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<RequestContext>()
            .and_then(Caller::from_request_context)
            .ok_or(CallerError::Unauthenticated)
    }
}

impl IntoResponse for CallerError {
    fn into_response(self) -> Response {
        let body = self.body();
        let mut response = Response::new(axum_core::body::Body::from(body));
        *response.status_mut() = self.status();
        response.headers_mut().insert(
            lambda_http::http::header::CONTENT_TYPE,
            lambda_http::http::HeaderValue::from_static("application/json"),
        );
        response
    }
}
