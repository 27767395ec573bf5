//! End-to-end tests: the authorizer and the account functions against real PostgreSQL (each
//! test in its own database), real Better Auth servers, PgBouncer and AWS stand-ins. One binary,
//! one module per suite; helpers live in the `test-support` crate.

mod api_keys;
mod authorizer_handler;
mod aws_secrets;
mod bad_input;
mod better_auth;
mod cross_site;
mod faults;
mod harness;
mod impersonation;
mod load;
mod me_routes;
mod openapi;
mod pgbouncer;
mod route_tables;
mod secondary_storage;
mod session_lookup;
mod sessions_routes;
mod stateless;
mod users_routes;
