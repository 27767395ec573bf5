//! The one mapping from errors to responses (status, Better-Auth-style code, JSON).

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde::Serialize;
use serde_json::json;

use auth_core::{AuthError, Refusal, StoreError};

use crate::store::AccountError;

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
            // Counted by the authenticator already.
            AuthError::Store(store) => Self::of_store(store),
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
        if let Some(tally) = error.tally() {
            auth_core::telemetry::metrics::count(tally);
        }
        Self::of_store(error)
    }
}

impl ApiError {
    /// The answer to a store failure (logged here; counted by whoever saw it first).
    fn of_store(error: StoreError) -> Self {
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
