//! Compatibility with the real Better Auth server: for every flow, our authorizer's decision (in
//! all three event shapes) is compared with Better Auth's own `GET /api/auth/get-session` for the
//! same credential. Any difference fails the test unless it is one we document as deliberate
//! (bans written straight to the database: Better Auth keeps the session, we refuse it).
//!
//! One module per flow; what they share (the server-plus-authenticator context and the
//! agreement check) is in `common`.

mod bans_and_revocation;
mod common;
mod functions;
mod oauth_dpop;
mod oauth_provider;
mod oauth_resource_server;
mod on_1_6;
mod organizations;
mod permissions;
mod redis_storage;
mod refresh;
mod sign_in;
