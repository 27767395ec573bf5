//! API Gateway authorizer events in, policies out: the edge between AWS's shapes and `auth-core`.
//!
//! - `parse`: the borrowed pass every invocation goes through ([`AuthorizerPayload`]), the
//!   event it keeps ([`AuthorizerEvent`]) and why an event is refused ([`EventError`]);
//! - `context`: what the authorizer tells downstream functions ([`Context`]);
//! - `response`: the policy or simple response API Gateway reads ([`AuthorizerResponse`]).

mod context;
mod parse;
mod response;

pub use context::{Context, Extras, MAX_EXTRA_LEN};
pub use parse::{AuthorizerEvent, AuthorizerPayload, EventError, Shape, configure, configure_dpop};
pub use response::{
    AuthorizerResponse, Effect, MethodArn, PolicyResponse, SimpleResponse, api_wildcard,
    method_arn, policy, policy_of, policy_written, simple,
};
