//! The one error type of authentication, and its mapping to what a caller is told.

use crate::credentials::CredentialError;
use crate::identity::Refusal;
use crate::keys::KeyError;
use crate::session_jwt::TokenError;
use crate::store::port::StoreError;
use crate::telemetry::metrics::Tally;

/// Why a request is not authenticated.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No usable token in the request (decided without a query).
    #[error(transparent)]
    Credential(#[from] CredentialError),
    /// A JWT that is forged, expired, for another audience, or signed by an unknown key.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The token was looked up and refused.
    #[error("{reason}")]
    Refused {
        /// Why.
        reason: Refusal,
        /// Whose session it was, when it exists.
        user_id: Option<String>,
    },
    /// The database could not answer: never treated as allowed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The jwt plugin's keys could not be loaded: never treated as allowed.
    #[error(transparent)]
    Keys(#[from] KeyError),
}

/// What an [`AuthError`] means to the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Not authenticated: HTTP 401, the authorizer's `Unauthorized`.
    Unauthenticated,
    /// Authenticated but not permitted (banned, unverified): HTTP 403, an authorizer Deny.
    Forbidden,
    /// We could not decide: HTTP 503, an authorizer error. Never an Allow.
    Unavailable,
}

impl AuthError {
    /// How to answer.
    pub fn outcome(&self) -> Outcome {
        match self {
            Self::Credential(_) | Self::Token(_) => Outcome::Unauthenticated,
            Self::Refused { reason, .. } if reason.is_forbidden() => Outcome::Forbidden,
            Self::Refused { .. } => Outcome::Unauthenticated,
            Self::Store(_) | Self::Keys(_) => Outcome::Unavailable,
        }
    }

    /// A stable short reason for logs (never a token or SQL).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Credential(e) => e.code(),
            Self::Token(e) => e.code(),
            Self::Keys(KeyError::Store(StoreError::Timeout(_))) => "database_timeout",
            Self::Keys(_) => "keys_unavailable",
            Self::Refused { reason, .. } => reason.code(),
            Self::Store(StoreError::Timeout(_)) => "database_timeout",
            Self::Store(StoreError::Schema(_)) => "schema_mismatch",
            Self::Store(_) => "database_unavailable",
        }
    }

    /// What the metrics count this error as: a store failure or timeout, else nothing.
    pub fn tally(&self) -> Option<Tally> {
        match self {
            Self::Store(error) | Self::Keys(KeyError::Store(error)) => error.tally(),
            Self::Keys(_) => Some(Tally::StoreError),
            Self::Credential(_) | Self::Token(_) | Self::Refused { .. } => None,
        }
    }

    /// The user the refused session belongs to, when known.
    pub fn user_id(&self) -> Option<&str> {
        match self {
            Self::Refused { user_id, .. } => user_id.as_deref(),
            _ => None,
        }
    }
}
