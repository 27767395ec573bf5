//! `jwt`: a Better Auth JWT in `Authorization: Bearer <jws>`, verified with the jwt plugin's
//! public keys (from the `jwks` table or a JWKS URL, cached). Exclusive: a JWS-shaped bearer is
//! decided here alone and never looked up as a session token. Only session JWTs pass: a token
//! whose `typ` is another profile's (`at+jwt`, `logout+jwt`, a cookie cache) or that carries
//! `azp`, `client_id` or `scope` (OAuth / MCP access tokens on the same keys) is refused.

use chrono::Utc;

use super::contract::{Claim, Common, Context, CredentialMethod, Precedence, Verdict, Verified};
use crate::credentials::{self, CredentialSource, RawCredentials};
use crate::env::{ConfigError, Env};
use crate::error::AuthError;
use crate::identity::Refusal;
use crate::jose;
use crate::session_jwt::{self, ClaimRules, TokenError};
use crate::store::port::AuthStore;
use crate::telemetry::fingerprint;

/// `jwt`'s settings.
#[derive(Debug, Clone)]
pub struct JwtSettings {
    /// What the claims must say (`BETTER_AUTH_JWT_ISSUER` / `_AUDIENCE`, default: the origin
    /// of `BETTER_AUTH_URL`).
    pub rules: ClaimRules,
    /// `BETTER_AUTH_JWT_CHECK_BAN` (default false): also read the user's ban (one indexed query).
    pub check_ban: bool,
}

/// Verifies Better Auth JWTs.
#[derive(Debug)]
pub struct JwtMethod {
    settings: JwtSettings,
}

impl CredentialMethod for JwtMethod {
    type Settings = JwtSettings;
    type Credential = String;
    const PRECEDENCE: Precedence = Precedence::Exclusive;
    const OWNS_BEARER_VALUES: bool = true;

    fn settings(
        env: &Env<'_>,
        common: &Common<'_>,
        configured: bool,
    ) -> Result<JwtSettings, ConfigError> {
        let uses_jwt = configured;
        let claim = |var: &'static str| -> Result<String, ConfigError> {
            match env.get(var).or_else(|| common.origin.map(str::to_owned)) {
                Some(v) => Ok(v.trim().to_owned()),
                None if uses_jwt => Err(ConfigError::Missing("BETTER_AUTH_URL")),
                None => Ok(String::new()),
            }
        };
        Ok(JwtSettings {
            rules: ClaimRules {
                issuer: claim("BETTER_AUTH_JWT_ISSUER")?,
                audience: claim("BETTER_AUTH_JWT_AUDIENCE")?,
                leeway_seconds: common.leeway_seconds,
            },
            check_ban: env.flag("BETTER_AUTH_JWT_CHECK_BAN", false)?,
        })
    }

    fn new(settings: &JwtSettings) -> Result<Self, ConfigError> {
        Ok(Self {
            settings: settings.clone(),
        })
    }

    fn claim<S: AuthStore>(
        &self,
        request: &RawCredentials<'_>,
        _: &Context<'_, S>,
    ) -> Claim<String> {
        match credentials::bearer_jws(request) {
            Ok(Some(jwt)) => Claim::Present(jwt.to_owned()),
            Ok(None) => Claim::Absent,
            Err(error) => Claim::Invalid(error),
        }
    }

    fn fingerprint(credential: &String) -> String {
        fingerprint(credential)
    }

    fn owns_bearer(&self, value: &str) -> bool {
        crate::jose::looks_like_jws(value)
    }

    async fn verify<S: AuthStore>(&self, jwt: &String, context: &Context<'_, S>) -> Verdict {
        match self.check(jwt, context).await {
            Err(error @ (AuthError::Store(_) | AuthError::Keys(_))) => Verdict::Unavailable(error),
            decided => Verdict::Decided(decided),
        }
    }
}

impl JwtMethod {
    /// Keys from the configured source (cached), signature, claims, the bans the token carries,
    /// the policy, and optionally the user's current ban.
    async fn check<S: AuthStore>(
        &self,
        jwt: &str,
        context: &Context<'_, S>,
    ) -> Result<Verified, AuthError> {
        let jws = jose::parse_jws(jwt).map_err(TokenError::from)?;
        // Other tokens signed with the same keys (OAuth access tokens, logout tokens, cookie
        // caches) are never sessions, whatever their audience.
        if !session_jwt::is_session_typ(jws.header.typ.as_deref()) {
            return Err(TokenError::NotASessionToken.into());
        }
        // Refuse what no key could verify before loading any key.
        if jose::Algorithm::parse(&jws.header.alg).is_none() {
            return Err(TokenError::Jose(jose::JoseError::Algorithm).into());
        }
        let kid = jws
            .header
            .kid
            .as_deref()
            .ok_or(TokenError::Jose(jose::JoseError::UnknownKey))?;
        let keys = context.keys.keys_for(kid, context.store).await?;
        let payload = jws.verify_with(&keys).map_err(TokenError::from)?;
        let now = Utc::now();
        let token = session_jwt::read_claims(&payload, &self.settings.rules, now)?;
        // A session JWT always names its user (`sub`).
        let user_id = token.identity.user_id.clone().ok_or(TokenError::Claims)?;
        let refused = |reason, user_id: &str| AuthError::Refused {
            reason,
            user_id: Some(user_id.to_owned()),
        };
        token
            .check(now, context.policy)
            .map_err(|reason| refused(reason, &user_id))?;
        if self.settings.check_ban {
            match context.store.user_ban(&user_id).await? {
                None => return Err(refused(Refusal::Unknown, &user_id)),
                Some(ban) if ban.is_active(now) => {
                    return Err(refused(Refusal::Banned, &user_id));
                }
                Some(_) => {}
            }
        }
        Ok(Verified {
            identity: token.identity,
            source: CredentialSource::BearerJwt,
        })
    }
}
