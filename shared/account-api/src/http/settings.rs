//! Settings of the account API, and what every function holds for its container's life.

use std::collections::HashSet;

use auth_core::access::{ACCESS_CONTROL_VAR, AccessControl, AccessSettings};
use auth_core::env::Env;
use auth_core::{Authenticator, Config, ConfigError};

use super::csrf::*;
use super::error::*;
use crate::store::AccountStore;

/// Settings of the account-management API, parsed once at cold start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiSettings {
    /// What a caller may do to other users: the admin plugin's roles and options as the
    /// authorizer reads them (`BETTER_AUTH_ACCESS_CONTROL`, the same parse). Without that
    /// variable, Better Auth's default roles with each `ADMIN_ROLES` role (deprecated; default
    /// `admin`) given the default `admin` statements. `ADMIN_USER_IDS` (deprecated) is added to
    /// `adminUserIds` either way.
    pub access: AccessControl,
    /// `ASSIGNABLE_ROLES`: roles `PUT /users/{id}/role` may set, each one of the access
    /// control's roles (checked at start-up). Default: every role of
    /// `BETTER_AUTH_ACCESS_CONTROL` (as Better Auth's `set-role` accepts any of its `roles`),
    /// else `admin,user`.
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
    /// The OAuth protected-resource metadata (`OAUTH_PROTECTED_RESOURCE`, …) `me` serves at
    /// `/.well-known/oauth-protected-resource`; `None`: not an OAuth resource server.
    pub resource_metadata: Option<super::resource_metadata::ResourceMetadata>,
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
    /// Reads settings through `lookup` (empty values count as unset), the access control
    /// included (parsed as [`Config`] parses it).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let access = AccessSettings::parse(&Env::new(&lookup))?;
        Self::with_access(lookup, &access, None)
    }

    /// Reads settings through `lookup`, with the access control already parsed (a [`Config`]'s,
    /// which may have come from SSM: `BETTER_AUTH_ACCESS_CONTROL_PARAMETER`).
    /// `oauth_issuer`: the oauth method's issuer (`BETTER_AUTH_OAUTH_ISSUER` or its default),
    /// the protected-resource metadata's default authorization server.
    pub fn with_access(
        lookup: impl Fn(&str) -> Option<String>,
        access: &AccessSettings,
        oauth_issuer: Option<&str>,
    ) -> Result<Self, ConfigError> {
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
        let mut control = if access.control_configured {
            if get("ADMIN_ROLES").is_some() {
                tracing::warn!(
                    "ADMIN_ROLES is ignored: {ACCESS_CONTROL_VAR} is set and says which roles may do what"
                );
            }
            access.control.clone()
        } else {
            AccessControl::with_admin_role_names(&list(get("ADMIN_ROLES"), "admin"))
        };
        control.add_admin_user_ids(&list(get("ADMIN_USER_IDS"), ""));
        let assignable_roles = match get("ASSIGNABLE_ROLES") {
            Some(value) => list(Some(value), ""),
            None if access.control_configured => control
                .role_names()
                .into_iter()
                .map(str::to_owned)
                .collect(),
            None => list(None, "admin,user"),
        };
        if assignable_roles
            .iter()
            .any(|r| r.contains(char::is_whitespace))
        {
            return Err(invalid("ASSIGNABLE_ROLES", "roles cannot contain spaces"));
        }
        if let Some(unknown) = assignable_roles.iter().find(|r| !control.is_role(r)) {
            let source = if access.control_configured {
                ACCESS_CONTROL_VAR
            } else {
                "Better Auth's default roles and ADMIN_ROLES"
            };
            return Err(invalid(
                "ASSIGNABLE_ROLES",
                &format!("\"{unknown}\" is not a role (roles come from {source})"),
            ));
        }
        Ok(Self {
            access: control,
            assignable_roles,
            cors_origins,
            trusted_origins,
            max_body_bytes: env.number("MAX_BODY_BYTES", 16 * 1024, 256, 1024 * 1024)?,
            max_list_limit: env.number("USERS_MAX_LIMIT", 500, 1, 10_000)?,
            resource_metadata: super::resource_metadata::ResourceMetadata::from_env(
                &env,
                oauth_issuer,
            )?,
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
            settings: ApiSettings::with_access(
                |name| std::env::var(name).ok(),
                &config.access,
                oauth_issuer(config),
            )?,
        })
    }

    /// Reads settings through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let config = Config::from_lookup(&lookup)?;
        Ok(Self {
            auth: Authenticator::new(&config)?,
            settings: ApiSettings::with_access(&lookup, &config.access, oauth_issuer(&config))?,
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

/// The oauth method's issuer (configured, or derived from `BETTER_AUTH_URL` as the provider
/// derives it), when there is one.
fn oauth_issuer(config: &Config) -> Option<&str> {
    Some(config.methods.oauth.issuer.as_str()).filter(|issuer| !issuer.is_empty())
}
