//! The authorization settings, parsed once: the app's roles and the route rules.

use std::time::Duration;

use super::roles::{ACCESS_CONTROL_VAR, AccessControl};
use super::rules::{ROUTES_VAR, RouteTable};
use crate::env::{ConfigError, Env};

/// The variable that bounds how long an organization's dynamic roles are reused.
pub const ORGANIZATION_ROLES_TTL_VAR: &str = "BETTER_AUTH_ORGANIZATION_ROLES_CACHE_TTL_MS";

/// What the caller may do: the roles (`BETTER_AUTH_ACCESS_CONTROL`, else Better Auth's
/// defaults), the route rules (`AUTHORIZER_ROUTES`; none: every route to any signed-in caller)
/// and how long an organization's `organizationRole` rows are reused.
#[derive(Debug, Clone, Default)]
pub struct AccessSettings {
    /// The app's roles.
    pub control: AccessControl,
    /// Whether `BETTER_AUTH_ACCESS_CONTROL` was set (else the defaults apply).
    pub control_configured: bool,
    /// The route rules, when set.
    pub routes: Option<RouteTable>,
    /// `BETTER_AUTH_ORGANIZATION_ROLES_CACHE_TTL_MS` (default 10 s; 0: read every time).
    pub organization_roles_ttl: Duration,
}

impl AccessSettings {
    /// Reads `BETTER_AUTH_ACCESS_CONTROL`, `AUTHORIZER_ROUTES` and
    /// `BETTER_AUTH_ORGANIZATION_ROLES_CACHE_TTL_MS`.
    pub fn parse(env: &Env<'_>) -> Result<Self, ConfigError> {
        let control = env.get(ACCESS_CONTROL_VAR);
        Ok(Self {
            control_configured: control.is_some(),
            control: match control {
                Some(json) => AccessControl::parse(&json)?,
                None => AccessControl::default(),
            },
            routes: env
                .get(ROUTES_VAR)
                .map(|json| RouteTable::parse(&json))
                .transpose()?,
            organization_roles_ttl: env.millis(ORGANIZATION_ROLES_TTL_VAR, 10_000, 0, 3_600_000)?,
        })
    }
}
