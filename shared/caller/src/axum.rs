//! axum on `lambda_http`: [`Caller`] as an extractor, [`CallerError`] as a response.
//!
//! The extractor reads the authorizer's context from the request's extensions (where
//! `lambda_http` puts the request context). To verify in place where no authorizer runs
//! (`cargo lambda watch`, a Function URL), add an `Arc<Callers>` as an extension
//! (`router.layer(axum::Extension(Arc::new(Callers::from_env()?)))`): the extractor then asks it,
//! and an authorizer context, when present, stays the only source.

use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, Response};
use lambda_http::http::request::Parts;
use lambda_http::request::RequestContext;

use std::sync::Arc;

use crate::{Caller, CallerError, Callers};

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = CallerError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let context = parts.extensions.get::<RequestContext>();
        match parts.extensions.get::<Arc<Callers>>() {
            Some(callers) => callers.caller_of(context, &parts.headers).await,
            None => context
                .and_then(Caller::from_request_context)
                .ok_or(CallerError::Unauthenticated),
        }
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
