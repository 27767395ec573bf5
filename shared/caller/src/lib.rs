//! `auth-caller`: who is calling *your* Lambda function behind the Better Auth authorizer, as a
//! type, in a few lines.
//!
//! ```no_run
//! # use auth_caller::{Caller, CallerError};
//! # fn handle(request: lambda_http::Request, access: &auth_core::access::AccessControl) -> Result<(), CallerError> {
//! let caller = Caller::from_request(&request)?; // behind the authorizer
//! let read = serde_json::from_str(r#"{"order":["read"]}"#).expect("a permission");
//! caller.require(access, &read)?; // 403 unless a role (and an API key's own permissions) grant it
//! # Ok(()) }
//! ```
//!
//! - [`Caller`]: the identity the authorizer put in the context (REST `requestContext.authorizer`,
//!   HTTP API `requestContext.authorizer.lambda`), read with the one definition the authorizer
//!   writes ([`auth_core::context::AuthorizerContext`]).
//! - [`Callers`]: the same, and where no authorizer runs (`cargo lambda watch`, a Function URL,
//!   an ALB target) the request verified in place with auth-core — opt-in with
//!   `AUTH_VERIFY_WITHOUT_AUTHORIZER=true`. Never both: a context present is the only source.
//! - [`CallerError`]: the refusals, as Better Auth's error bodies (`{"code", "message"}`) with
//!   401 / 403 / 503.
//! - Feature `axum`: `Caller` is an extractor, `CallerError` a response.

mod caller;
mod error;
mod resolve;

#[cfg(feature = "axum")]
mod axum;

pub use caller::{ApiKey, Caller, OAuthClient, Organization};
pub use error::CallerError;
pub use resolve::{Callers, VERIFY_WITHOUT_AUTHORIZER_VAR};
