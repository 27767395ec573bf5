//! Answers "who is this request?" for Rust services behind API Gateway that trust Better Auth.
//!
//! - [`credentials`]: finds the session token (bearer header or signed cookie) and verifies its
//!   signature exactly as Better Auth does. Pure.
//! - [`identity`]: decides whether a session row is valid (expiry, bans, revocation). Pure.
//! - [`schema`]: where Better Auth's tables and columns are, and the SQL to read them.
//! - [`db`]: the PostgreSQL pool and the one-round-trip session lookup.
//! - [`directory`]: users, sessions and accounts for the account-management functions.
//! - [`authenticator`]: the three above, in order.
//! - [`config`]: environment variables, parsed once.

pub mod access_token;
pub mod authenticator;
#[cfg(feature = "aws")]
pub mod aws;
pub mod config;
pub mod cookie_cache;
pub mod credentials;
pub mod db;
pub mod directory;
pub mod error;
#[cfg(feature = "http")]
pub mod http;
pub mod identity;
pub mod jose;
pub mod keys;
pub mod result_cache;
pub mod schema;
pub mod signing;
pub mod telemetry;

pub use authenticator::{Authenticated, Authenticator};
pub use config::{Config, ConfigError};
pub use credentials::{Credential, CredentialError, CredentialSource, RawCredentials};
pub use error::{AuthError, Outcome};
pub use identity::{Identity, Refusal};
