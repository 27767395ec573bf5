//! `account-api`: the account API of the `me`, `users` and `sessions` functions, on top of
//! `auth-core`.
//!
//! | module | what |
//! |---|---|
//! | [`store`] | every account query: [`store::users`], [`store::sessions`], [`store::accounts`], [`store::query`] |
//! | [`validate`] | bodies and query strings as checked values ([`validate::Email::parse`], [`validate::BanRequest`], …) |
//! | [`http`] | settings, the caller, JSON bodies, CORS, and the one mapping from errors to responses |
//! | [`routes`] | the route table type and its dispatcher (404/405/preflight derive from it) |

pub mod http;
pub mod routes;
pub mod store;
pub mod validate;
