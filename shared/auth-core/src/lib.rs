//! `auth-core`: answers "who is this request?" for Rust services behind API Gateway that trust
//! Better Auth. The authorizer depends on this crate alone.
//!
//! | layer | modules |
//! |---|---|
//! | pure parsing and verification | [`credentials`] (where the token is), [`signing`] (cookie signatures), [`jose`] (JWS/JWE), [`session_jwt`] (JWT claims), [`session_data`] (cookie-cache formats), [`identity`] (is this session valid?) |
//! | credential methods | [`methods`]: `session`, `jwt`, `cookie-cache`, one module each behind [`methods::CredentialMethod`] |
//! | the loop | [`authenticator`]: the configured methods, in order |
//! | stores | [`store`]: the [`store::AuthStore`] port, its PostgreSQL and secondary-storage (Redis) adapters, an in-memory one, and [`store::DeployedStore`], the deployed choice |
//! | schema | [`schema`]: typed fields, detection, projections, the revocation strategy |
//! | caches | [`keys`] (the jwt plugin's keys), [`result_cache`] (session lookups) |
//! | edges | [`config`] (parsed once), [`telemetry`] (JSON logs, fingerprints), `aws` (Secrets Manager, SSM, RDS IAM; feature `aws`) |

pub(crate) mod authenticator;
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

pub use authenticator::{Authenticated, Authenticator};
pub use config::Config;
pub use credentials::{Credential, CredentialError, CredentialSource, RawCredentials};
pub use env::ConfigError;
pub use error::{AuthError, Outcome};
pub use identity::{Identity, Refusal};
pub use methods::MethodName;
pub use store::{AuthStore, StoreError};
