//! The API Gateway Lambda authorizer: REST TOKEN, REST REQUEST and HTTP API 2.0 events in,
//! policies (or simple responses) out, backed by `auth-core`'s Better Auth session validation.

pub mod event;
pub mod handler;
