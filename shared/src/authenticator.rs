//! "Who is this request?": the configured methods, in order, over the request's credentials.
//!
//! - `jwt` applies to an `Authorization: Bearer` value shaped like a JWS: it is verified with the
//!   jwt plugin's keys and decides alone (a JWT is never looked up as a session token).
//! - `cookie-cache` applies when the request has the session cookie and a `session_data` cookie
//!   cache: a valid cache decides without the database; any miss (absent, expired, another
//!   session, another version, a refusal read from the cache) passes to the next method.
//! - `session` looks the token up in the database and decides. When it cannot answer (the
//!   database is down) and `cookie-cache` comes after it, a valid cache still decides; otherwise
//!   the error stands: an error is never an allow.

use std::time::Instant;

use chrono::Utc;

use crate::access_token::{self, TokenError};
use crate::config::{Config, ConfigError, JwtSettings, Method};
use crate::cookie_cache::{self, CacheMiss, CacheSettings};
use crate::credentials::{self, Credential, CredentialSource, ExtractOptions, RawCredentials};
use crate::db::Database;
use crate::error::AuthError;
use crate::identity::{self, Identity, Policy, Refusal, SessionRecord};
use crate::jose::{self, JweKey, KeySet};
use crate::keys::KeyStore;
use crate::result_cache::{self, Lookup, ResultCache};
use crate::telemetry::fingerprint;

/// A verified caller and how they proved it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    /// Who.
    pub identity: Identity,
    /// Where the credential came from.
    pub source: CredentialSource,
    /// Which method vouched for it.
    pub method: Method,
}

/// One authentication, with the fingerprint of the credential it used (for logs).
#[derive(Debug)]
pub struct Attempt {
    /// The answer.
    pub result: Result<Authenticated, AuthError>,
    /// A short hash of the token or JWT, when the request had a well-formed one.
    pub fingerprint: Option<String>,
}

/// Validates Better Auth credentials. Build one per container and share it.
#[derive(Debug)]
pub struct Authenticator {
    extract: ExtractOptions,
    policy: Policy,
    database: Database,
    methods: Vec<Method>,
    jwt: JwtSettings,
    keys: KeyStore,
    cookie_cache: CacheSettings,
    cache_cookie_names: [String; 2],
    results: ResultCache,
}

impl Authenticator {
    /// Builds the validator, its (lazy) pool and its (empty) key cache. Does no I/O.
    pub fn new(config: &Config) -> Result<Self, ConfigError> {
        let keys = KeyStore::new(config.keys.clone()).map_err(|e| ConfigError::Invalid {
            var: "BETTER_AUTH_JWKS_URL",
            reason: e.to_string(),
        })?;
        let jwe_keys = config
            .all_secrets
            .iter()
            .map(|s| JweKey::derive(s.bytes(), cookie_cache::JWE_SALT))
            .collect();
        Ok(Self {
            extract: config.extract_options(),
            policy: config.policy(),
            database: Database::new(&config.database, &config.schema)?,
            methods: config.methods.clone(),
            jwt: config.jwt.clone(),
            keys,
            cookie_cache: CacheSettings {
                strategy: config.cookie_cache.strategy,
                version: config.cookie_cache.version.clone(),
                secret: config.secret.clone(),
                jwe_keys,
                plugin_issuer: config.cookie_cache.plugin_issuer.clone(),
                leeway_seconds: config.leeway_seconds,
            },
            cache_cookie_names: credentials::cache_cookie_names(&config.cookie_prefix),
            results: ResultCache::new(config.result_cache),
        })
    }

    /// The database, for functions that run their own queries.
    pub fn database(&self) -> &Database {
        &self.database
    }

    /// The jwt plugin's key cache.
    pub fn keys(&self) -> &KeyStore {
        &self.keys
    }

    /// The result cache.
    pub fn result_cache(&self) -> &ResultCache {
        &self.results
    }

    /// The methods accepted, in order.
    pub fn methods(&self) -> &[Method] {
        &self.methods
    }

    fn uses(&self, method: Method) -> bool {
        self.methods.contains(&method)
    }

    /// Finds and verifies the session token without touching the database.
    pub fn credential(&self, raw: &RawCredentials<'_>) -> Result<Credential, AuthError> {
        Ok(credentials::extract(raw, &self.extract)?)
    }

    /// The whole check. A credential that fails any offline check never reaches the database.
    pub async fn authenticate(&self, raw: &RawCredentials<'_>) -> Result<Authenticated, AuthError> {
        self.attempt(raw).await.result
    }

    /// [`Self::authenticate`], also returning the credential's fingerprint for logging.
    pub async fn attempt(&self, raw: &RawCredentials<'_>) -> Attempt {
        if self.uses(Method::Jwt) {
            match credentials::bearer_jws(raw) {
                Ok(Some(jwt)) => {
                    return Attempt {
                        fingerprint: Some(fingerprint(jwt)),
                        result: self.authenticate_jwt(jwt).await,
                    };
                }
                Ok(None) => {}
                Err(error) => {
                    return Attempt {
                        result: Err(error.into()),
                        fingerprint: None,
                    };
                }
            }
        }
        let credential = match self.credential(raw) {
            Ok(credential) => credential,
            Err(error) => {
                return Attempt {
                    result: Err(error),
                    fingerprint: None,
                };
            }
        };
        Attempt {
            fingerprint: Some(fingerprint(&credential.token)),
            result: self.authenticate_session(&credential, raw).await,
        }
    }

    /// Runs the configured session-token methods (`cookie-cache`, `session`) in order.
    async fn authenticate_session(
        &self,
        credential: &Credential,
        raw: &RawCredentials<'_>,
    ) -> Result<Authenticated, AuthError> {
        let mut unavailable: Option<AuthError> = None;
        for method in &self.methods {
            match method {
                Method::Jwt => continue,
                // Reached first, or after `session` could not answer (the database is down).
                Method::CookieCache => match self.check_cookie_cache(credential, raw).await {
                    Ok(found) => return Ok(found),
                    Err(miss) => {
                        tracing::debug!(reason = miss.code(), "cookie cache not used");
                    }
                },
                Method::Session => match self.lookup_session(credential).await {
                    Err(error @ AuthError::Store(_)) => {
                        tracing::warn!(error = %error, "session lookup failed");
                        unavailable = Some(error);
                    }
                    decided => return decided,
                },
            }
        }
        Err(unavailable.unwrap_or(AuthError::Refused {
            reason: Refusal::Unknown,
            user_id: None,
        }))
    }

    async fn check_cookie_cache(
        &self,
        credential: &Credential,
        raw: &RawCredentials<'_>,
    ) -> Result<Authenticated, CacheMiss> {
        if credential.source != CredentialSource::Cookie {
            return Err(CacheMiss::Absent);
        }
        let value = credentials::cookie_cache_value(&raw.cookies, &self.cache_cookie_names)
            .ok_or(CacheMiss::Absent)?;
        let keys = match cookie_cache::plugin_key_id(&value, &self.cookie_cache) {
            Some(kid) => self
                .keys
                .keys_for(&kid, &self.database)
                .await
                .map_err(|error| {
                    tracing::warn!(error = %error, "jwt plugin keys unavailable for the cookie cache");
                    CacheMiss::Invalid(jose::JoseError::UnknownKey)
                })?,
            None => Default::default(),
        };
        let now = Utc::now();
        let record =
            cookie_cache::decode(&value, &self.cookie_cache, &keys, &credential.token, now)?;
        // A refusal read from a cache that may be minutes old is not final: the next method
        // (normally the database) decides. Without one, the request is refused.
        identity::check(&record, now, self.policy).map_err(|_| CacheMiss::Refused)?;
        Ok(Authenticated {
            identity: record.into(),
            source: credential.source,
            method: Method::CookieCache,
        })
    }

    /// Looks up and evaluates an already extracted session token (through the result cache).
    pub async fn lookup_session(
        &self,
        credential: &Credential,
    ) -> Result<Authenticated, AuthError> {
        let record = self.find_session_cached(&credential.token).await?;
        let Some(record) = record else {
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
            method: Method::Session,
        })
    }

    async fn find_session_cached(&self, token: &str) -> Result<Option<SessionRecord>, AuthError> {
        if !self.results.is_enabled() {
            return Ok(self.database.find_session(token).await?);
        }
        let key = result_cache::key(token);
        if let Some(hit) = self.results.get(&key, Instant::now()) {
            return Ok(match hit {
                Lookup::Found(record) => Some(record),
                Lookup::Unknown => None,
            });
        }
        let found = self.database.find_session(token).await?;
        let value = match &found {
            Some(record) => Lookup::Found(record.clone()),
            None => Lookup::Unknown,
        };
        self.results.put(key, value, Instant::now());
        Ok(found)
    }

    /// Verifies a Better Auth JWT: keys from the configured source (cached), signature, claims,
    /// the bans it carries, the policy, and optionally the user's current ban.
    pub async fn authenticate_jwt(&self, jwt: &str) -> Result<Authenticated, AuthError> {
        let jws = jose::parse_jws(jwt).map_err(TokenError::from)?;
        // Refuse what no key could verify before loading any key.
        if jose::Algorithm::parse(&jws.header.alg).is_none() {
            return Err(TokenError::Jose(jose::JoseError::Algorithm).into());
        }
        let kid = jws
            .header
            .kid
            .as_deref()
            .ok_or(TokenError::Jose(jose::JoseError::UnknownKey))?;
        let keys: std::sync::Arc<KeySet> = self.keys.keys_for(kid, &self.database).await?;
        let payload = jws.verify_with(&keys).map_err(TokenError::from)?;
        let now = Utc::now();
        let token = access_token::read_claims(&payload, &self.jwt.rules, now)?;
        let refused = |reason, user_id: &str| AuthError::Refused {
            reason,
            user_id: Some(user_id.to_owned()),
        };
        token
            .check(now, self.policy)
            .map_err(|reason| refused(reason, &token.identity.user_id))?;
        if self.jwt.check_ban {
            let ban = self.database.user_ban(&token.identity.user_id).await?;
            match ban {
                None => return Err(refused(Refusal::Unknown, &token.identity.user_id)),
                Some((banned, until)) if identity::is_banned(banned, until, now) => {
                    return Err(refused(Refusal::Banned, &token.identity.user_id));
                }
                Some(_) => {}
            }
        }
        Ok(Authenticated {
            identity: token.identity,
            source: CredentialSource::BearerJwt,
            method: Method::Jwt,
        })
    }
}
