//! Settings of the account API, and what every function holds for its container's life.

use std::collections::HashSet;

use auth_core::env::Env;
use auth_core::{Authenticator, Config, ConfigError};

use super::csrf::*;
use super::error::*;
use crate::store::AccountStore;

/// Settings of the account-management API, parsed once at cold start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiSettings {
    /// `ADMIN_ROLES` (default `admin`): a caller with one of these roles is an admin.
    pub admin_roles: Vec<String>,
    /// `ADMIN_USER_IDS` (default none): these users are admins whatever their role
    /// (Better Auth's `adminUserIds`).
    pub admin_user_ids: Vec<String>,
    /// `ASSIGNABLE_ROLES` (default `admin,user`): roles `PUT /users/{id}/role` may set.
    pub assignable_roles: Vec<String>,
    /// `CORS_ALLOWED_ORIGINS` (default none): origins allowed to call with credentials.
    pub cors_origins: HashSet<String>,
    /// Origins a cookie-authenticated state-changing request may come from: the CORS origins,
    /// `BETTER_AUTH_TRUSTED_ORIGINS` (Better Auth's `trustedOrigins`, `*` wildcards allowed in
    /// the host) and the origin of `BETTER_AUTH_URL`.
    pub trusted_origins: Vec<String>,
    /// `MAX_BODY_BYTES` (default 16384).
    pub max_body_bytes: usize,
    /// `USERS_MAX_LIMIT` (default 500): the cap on `GET /users`' `limit`.
    pub max_list_limit: i64,
}

pub(crate) fn list(value: Option<String>, default: &str) -> Vec<String> {
    value
        .unwrap_or_else(|| default.to_owned())
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

impl ApiSettings {
    /// Whether a stored role list holds an admin role, split exactly as Better Auth splits it
    /// (at commas, untrimmed: `"user, admin"` is not an admin).
    pub fn grants_admin(&self, role: Option<&str>) -> bool {
        auth_core::identity::split_roles(role).any(|r| self.admin_roles.iter().any(|a| a == r))
    }

    /// Reads settings through `lookup` (empty values count as unset).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env::new(&lookup);
        let get = |name: &str| env.get(name);
        let invalid = |var: &'static str, reason: &str| auth_core::env::invalid(var, reason);
        let cors_origins: HashSet<String> =
            list(get("CORS_ALLOWED_ORIGINS"), "").into_iter().collect();
        for origin in &cors_origins {
            let ok = (origin.starts_with("https://") || origin.starts_with("http://"))
                && !origin.ends_with('/')
                && !origin.contains('*');
            if !ok {
                return Err(invalid(
                    "CORS_ALLOWED_ORIGINS",
                    "list exact origins like https://app.example.com (no paths, no wildcards: credentials are allowed)",
                ));
            }
        }
        let mut trusted_origins: Vec<String> = cors_origins.iter().cloned().collect();
        for origin in list(get("BETTER_AUTH_TRUSTED_ORIGINS"), "") {
            let ok = (origin.starts_with("https://") || origin.starts_with("http://"))
                && !origin.ends_with('/')
                && origin.matches('*').count() <= 1
                && origin_of_url(&origin).as_deref() == Some(origin.as_str());
            if !ok {
                return Err(invalid(
                    "BETTER_AUTH_TRUSTED_ORIGINS",
                    "list origins like https://app.example.com or https://*.example.com (no paths)",
                ));
            }
            trusted_origins.push(origin);
        }
        if let Some(base) = get("BETTER_AUTH_URL").as_deref().and_then(origin_of_url) {
            trusted_origins.push(base);
        }
        trusted_origins.sort();
        trusted_origins.dedup();
        let assignable_roles = list(get("ASSIGNABLE_ROLES"), "admin,user");
        if assignable_roles
            .iter()
            .any(|r| r.contains(char::is_whitespace))
        {
            return Err(invalid("ASSIGNABLE_ROLES", "roles cannot contain spaces"));
        }
        Ok(Self {
            admin_roles: list(get("ADMIN_ROLES"), "admin"),
            admin_user_ids: list(get("ADMIN_USER_IDS"), ""),
            assignable_roles,
            cors_origins,
            trusted_origins,
            max_body_bytes: env.number("MAX_BODY_BYTES", 16 * 1024, 256, 1024 * 1024)?,
            max_list_limit: env.number("USERS_MAX_LIMIT", 500, 1, 10_000)?,
        })
    }
}

/// What every function holds for its container's life.
#[derive(Debug)]
pub struct App {
    /// Session validation and the database.
    pub auth: Authenticator,
    /// API settings.
    pub settings: ApiSettings,
}

impl App {
    /// Reads the environment once; no I/O.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// From an already parsed [`Config`] (e.g. `auth_core::aws::config_from_env`) and the
    /// environment's API settings.
    pub fn from_config(config: &Config) -> Result<Self, ConfigError> {
        Ok(Self {
            auth: Authenticator::new(config)?,
            settings: ApiSettings::from_lookup(|name| std::env::var(name).ok())?,
        })
    }

    /// Reads settings through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let config = Config::from_lookup(&lookup)?;
        Ok(Self {
            auth: Authenticator::new(&config)?,
            settings: ApiSettings::from_lookup(&lookup)?,
        })
    }

    /// The account store (detects the schema on first use).
    pub async fn accounts(&self) -> Result<AccountStore<'_>, ApiError> {
        Ok(AccountStore::open(self.auth.database())
            .await?
            .with_secondary_storage(self.auth.store().secondary())
            .with_api_key_configs(self.auth.api_key_user_configs().to_vec()))
    }
}
