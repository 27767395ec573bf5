//! "Who is this request?": extraction, lookup and evaluation, in that order.

use chrono::Utc;

use crate::config::{Config, ConfigError};
use crate::credentials::{self, Credential, CredentialSource, ExtractOptions, RawCredentials};
use crate::db::Database;
use crate::error::AuthError;
use crate::identity::{self, Identity, Policy, Refusal};

/// A verified caller and how they proved it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    /// Who.
    pub identity: Identity,
    /// Where the token came from.
    pub source: CredentialSource,
}

/// Validates Better Auth sessions. Build one per container and share it.
#[derive(Debug)]
pub struct Authenticator {
    extract: ExtractOptions,
    policy: Policy,
    database: Database,
}

impl Authenticator {
    /// Builds the validator and its (lazy) pool. Does no I/O.
    pub fn new(config: &Config) -> Result<Self, ConfigError> {
        Ok(Self {
            extract: config.extract_options(),
            policy: config.policy(),
            database: Database::new(&config.database, &config.schema)?,
        })
    }

    /// The database, for functions that run their own queries.
    pub fn database(&self) -> &Database {
        &self.database
    }

    /// Finds and verifies the token without touching the database.
    pub fn credential(&self, raw: &RawCredentials<'_>) -> Result<Credential, AuthError> {
        Ok(credentials::extract(raw, &self.extract)?)
    }

    /// The whole check: a token that fails any offline check never reaches the database.
    pub async fn authenticate(&self, raw: &RawCredentials<'_>) -> Result<Authenticated, AuthError> {
        let credential = self.credential(raw)?;
        self.authenticate_credential(&credential).await
    }

    /// Looks up and evaluates an already extracted token.
    pub async fn authenticate_credential(
        &self,
        credential: &Credential,
    ) -> Result<Authenticated, AuthError> {
        let Some(record) = self.database.find_session(&credential.token).await? else {
            return Err(AuthError::Refused {
                reason: Refusal::Unknown,
                user_id: None,
            });
        };
        if let Err(reason) = identity::check(&record, Utc::now(), self.policy) {
            return Err(AuthError::Refused {
                reason,
                user_id: Some(record.user_id),
            });
        }
        Ok(Authenticated {
            identity: record.into(),
            source: credential.source,
        })
    }
}
