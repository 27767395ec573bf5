//! `oauth`'s settings, parsed once at cold start: the resources, issuer, opaque prefix and
//! scopes, and DPoP (where proof ids are recorded).

use crate::env::{ConfigError, Env, invalid};
use crate::methods::contract::Common;
use crate::result_cache::CacheLimits;

/// Better Auth's default `basePath`: the provider's issuer is `baseURL` with it.
const DEFAULT_BASE_PATH: &str = "/api/auth";

/// `oauth`'s settings.
#[derive(Debug, Clone, Default)]
pub struct OAuthSettings {
    /// `BETTER_AUTH_OAUTH_RESOURCES`: the resource identifiers this API answers for (exact
    /// strings); a token's audience must name one.
    pub resources: Vec<String>,
    /// `BETTER_AUTH_OAUTH_ISSUER`: the provider's `iss` (default `BETTER_AUTH_JWT_ISSUER`, else
    /// `BETTER_AUTH_URL` with Better Auth's default base path `/api/auth`).
    pub issuer: String,
    /// The provider's implicit audience `<baseURL>/oauth2/userinfo` (no registered resource).
    pub userinfo_audience: String,
    /// `BETTER_AUTH_OAUTH_OPAQUE_PREFIX`: the provider's `prefix.opaqueAccessToken`; without
    /// it opaque tokens cannot be told from session tokens and are not accepted.
    pub opaque_prefix: Option<String>,
    /// `BETTER_AUTH_OAUTH_REQUIRED_SCOPES`: scopes every token must carry, on every route.
    pub required_scopes: Vec<String>,
    /// `BETTER_AUTH_CLOCK_SKEW_SECONDS`.
    pub leeway_seconds: i64,
    /// `BETTER_AUTH_OAUTH_DPOP`: DPoP-bound tokens accepted with their proof.
    pub dpop: Option<DpopSettings>,
    /// The result cache: what the store said about a token, reused for
    /// `AUTH_RESULT_CACHE_OAUTH_TTL_MS` (its own opt-in; the entry bound and the negative TTL
    /// are the session cache's settings).
    pub result_cache: CacheLimits,
}

/// How DPoP proofs are checked and where their ids are recorded.
#[derive(Clone)]
pub struct DpopSettings {
    /// `BETTER_AUTH_OAUTH_DPOP_MAX_AGE_SECONDS` (default 300, the provider's
    /// `dpop.proofMaxAgeSeconds`).
    pub max_age_seconds: i64,
    /// The setting the Redis URL came from.
    pub(super) redis_var: &'static str,
    pub(super) redis_url: String,
    /// `BETTER_AUTH_SECONDARY_STORAGE_PREFIX` (default `better-auth:`).
    pub(super) prefix: String,
    pub(super) connect_timeout: std::time::Duration,
    pub(super) command_timeout: std::time::Duration,
}

impl std::fmt::Debug for DpopSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password: only where it came from is shown.
        f.debug_struct("DpopSettings")
            .field("max_age_seconds", &self.max_age_seconds)
            .field("redis_var", &self.redis_var)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// The Redis that records DPoP proof ids: `BETTER_AUTH_OAUTH_DPOP_REDIS_URL`, else the
/// secondary storage's (where Better Auth records its own).
fn dpop_settings(env: &Env<'_>, common: &Common<'_>) -> Result<Option<DpopSettings>, ConfigError> {
    const FLAG: &str = "BETTER_AUTH_OAUTH_DPOP";
    let max_age_seconds = env.number("BETTER_AUTH_OAUTH_DPOP_MAX_AGE_SECONDS", 300, 1, 3600)?;
    if !env.flag(FLAG, false)? {
        return Ok(None);
    }
    let (redis_var, redis_url) = match (
        env.get("BETTER_AUTH_OAUTH_DPOP_REDIS_URL"),
        env.get("BETTER_AUTH_SECONDARY_STORAGE_URL"),
    ) {
        (Some(url), _) => ("BETTER_AUTH_OAUTH_DPOP_REDIS_URL", url),
        (None, Some(url)) => ("BETTER_AUTH_SECONDARY_STORAGE_URL", url),
        (None, None) => {
            return Err(invalid(
                FLAG,
                "a DPoP proof is accepted once: set BETTER_AUTH_OAUTH_DPOP_REDIS_URL (or \
                 BETTER_AUTH_SECONDARY_STORAGE_URL) to the Redis that records proof ids",
            ));
        }
    };
    let redis_url = redis_url.trim().to_owned();
    crate::store::redis_link::check_url(env, redis_var, &redis_url)?;
    Ok(Some(DpopSettings {
        max_age_seconds,
        redis_var,
        redis_url,
        prefix: crate::store::secondary::storage_prefix(env)?,
        connect_timeout: common.connect_timeout,
        command_timeout: common.command_timeout,
    }))
}

/// A list setting: values separated by commas or whitespace.
fn list(value: Option<String>) -> Vec<String> {
    value
        .unwrap_or_default()
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect()
}

impl OAuthSettings {
    /// Parses the settings (always, so a bad value is reported even when the method is off;
    /// `configured`: it is on, and what it needs must be there).
    pub fn parse(
        env: &Env<'_>,
        common: &Common<'_>,
        configured: bool,
    ) -> Result<Self, ConfigError> {
        let resources = list(env.get("BETTER_AUTH_OAUTH_RESOURCES"));
        let required_scopes = list(env.get("BETTER_AUTH_OAUTH_REQUIRED_SCOPES"));
        let opaque_prefix = env.get("BETTER_AUTH_OAUTH_OPAQUE_PREFIX");
        // A session token is alphanumeric: a prefix made of letters and digits alone would
        // claim some of them, which `oauth` then refuses.
        if opaque_prefix.as_deref().is_some_and(|p| {
            p.trim() != p || (!p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric()))
        }) {
            return Err(invalid(
                "BETTER_AUTH_OAUTH_OPAQUE_PREFIX",
                "must hold a character a session token never has (e.g. the provider's `_` in `bao_`), and no surrounding whitespace",
            ));
        }
        let provider_base = common.base_url.map(|url| {
            let url = url.trim().trim_end_matches('/');
            if url.ends_with(DEFAULT_BASE_PATH) {
                url.to_owned()
            } else {
                format!("{url}{DEFAULT_BASE_PATH}")
            }
        });
        let issuer = env
            .get("BETTER_AUTH_OAUTH_ISSUER")
            .or_else(|| env.get("BETTER_AUTH_JWT_ISSUER"))
            .or_else(|| provider_base.clone())
            .map(|i| i.trim().to_owned());
        if configured {
            if resources.is_empty() {
                return Err(ConfigError::Missing("BETTER_AUTH_OAUTH_RESOURCES"));
            }
            if issuer.is_none() {
                return Err(ConfigError::Missing("BETTER_AUTH_URL"));
            }
        }
        Ok(OAuthSettings {
            resources,
            issuer: issuer.unwrap_or_default(),
            userinfo_audience: provider_base
                .map(|base| format!("{base}/oauth2/userinfo"))
                .unwrap_or_default(),
            opaque_prefix: opaque_prefix.filter(|p| !p.is_empty()),
            required_scopes,
            leeway_seconds: common.leeway_seconds,
            // Parsed only for a configured method: DPoP on without Redis is then a start-up
            // error, never tokens refused in silence.
            dpop: match configured {
                true => dpop_settings(env, common)?,
                false => None,
            },
            result_cache: oauth_cache_limits(env)?,
        })
    }
}

/// `AUTH_RESULT_CACHE_OAUTH_TTL_MS` (0: off, the default), with the session cache's bound and
/// negative TTL; nothing at all is kept while it is 0.
fn oauth_cache_limits(env: &Env<'_>) -> Result<CacheLimits, ConfigError> {
    let shared = CacheLimits::parse(env)?;
    let ttl = env.millis("AUTH_RESULT_CACHE_OAUTH_TTL_MS", 0, 0, 3_600_000)?;
    Ok(CacheLimits {
        ttl,
        negative_ttl: if ttl.is_zero() {
            std::time::Duration::ZERO
        } else {
            shared.negative_ttl
        },
        max_entries: shared.max_entries,
    })
}
