//! Why a caller is refused, mapped once to the status and Better Auth's error body.

use lambda_http::http::{StatusCode, header};
use lambda_http::{Body, Response};

/// A refusal. Messages never carry a token or an internal detail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallerError {
    /// 401: no authorizer context and no verifiable credential.
    #[error("Unauthorized")]
    Unauthenticated,
    /// 403: signed in, but not allowed this (`missing_permission`, `no_active_organization`).
    #[error("Forbidden")]
    Forbidden {
        /// A stable reason code.
        reason: &'static str,
    },
    /// 503: the credential could not be checked (the store is down); never an allow.
    #[error("Authentication is unavailable; try again")]
    Unavailable,
}

impl CallerError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// Better Auth's error body: `{"code": "UNAUTHORIZED", "message": "…"}`.
    pub fn body(&self) -> String {
        let code = match self {
            Self::Unauthenticated => "UNAUTHORIZED",
            Self::Forbidden { .. } => "FORBIDDEN",
            Self::Unavailable => "SERVICE_UNAVAILABLE",
        };
        serde_json::json!({"code": code, "message": self.to_string()}).to_string()
    }

    /// The response for `lambda_http`.
    pub fn into_response(self) -> Response<Body> {
        let mut response = Response::new(Body::Text(self.body()));
        *response.status_mut() = self.status();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/json"),
        );
        response
    }
}
