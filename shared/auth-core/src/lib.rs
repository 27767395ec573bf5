//! `auth-core`: answers "who is this request?" for Rust services behind API Gateway that trust
//! Better Auth. The authorizer depends on this crate alone.
//!
//! Layers, bottom first; a module imports only modules below it (checked by `make lint`:
//! `tests/layers.rs`; docs/architecture.md has the table with every module):
//!
//! | layer | modules |
//! |---|---|
//! | settings | [`env`] (the one environment reader), [`tls`] |
//! | pure parsing and verification | [`credentials`] (where the token is), [`signing`] (cookie signatures), [`jose`] (JWS/JWE), [`session_jwt`] (session JWT claims), [`session_data`] (cookie-cache formats), [`identity`] (is this session valid? what does it grant?), [`context`] (the authorizer context, defined once), [`usage`] (the usage-plan key), [`telemetry`] |
//! | authorization (pure) | [`access`]: Better Auth's access control (roles, statements), route rules, the REST policy |
//! | schema | [`schema`]: typed fields, overrides, detection, the revocation strategy |
//! | store port | [`store::port`]: what authentication asks of a store |
//! | stores | [`store`]: the PostgreSQL adapter (with its projections and statements), secondary storage (Redis), an in-memory one, and [`store::DeployedStore`], the deployed choice; the jwt plugin's key cache |
//! | credential methods | [`methods`]: `session`, `jwt`, `cookie-cache`, `api-key`, one module each behind [`methods::contract::CredentialMethod`] |
//! | the loop | [`Authenticator`]: the configured methods, in order, and [`AuthError`] |
//! | the route | [`authorization`]: `AUTHORIZER_ROUTES` decided for an authenticated caller |
//! | assembly | [`Config`] (every owner's settings, parsed once), `aws` (Secrets Manager, SSM, RDS IAM; feature `aws`) |

pub mod access;
pub(crate) mod authenticator;
pub mod authorization;
#[cfg(feature = "aws")]
pub mod aws;
pub(crate) mod config;
pub mod context;
pub mod credentials;
pub mod env;
pub(crate) mod error;
pub mod identity;
pub mod jose;
pub(crate) mod keys;
pub mod methods;
pub(crate) mod result_cache;
pub mod schema;
pub mod session_data;
pub mod session_jwt;
pub mod signing;
pub mod store;
pub mod telemetry;
pub mod tls;
pub mod usage;

pub use authenticator::{Authenticated, Authenticator};
pub use config::Config;
pub use credentials::{Credential, CredentialError, CredentialSource, RawCredentials};
pub use env::ConfigError;
pub use error::{AuthError, Outcome};
pub use identity::{Identity, Refusal};
pub use methods::MethodName;
pub use store::{AuthStore, StoreError};
