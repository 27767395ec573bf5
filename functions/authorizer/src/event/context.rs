//! The authorizer context is defined once, in auth-core ([`auth_core::context`]): the
//! authorizer writes it, the functions read it back.

pub use auth_core::context::{AuthorizerContext as Context, Extras, MAX_EXTRA_LEN};
