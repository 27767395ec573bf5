//! `oauth`: access tokens `@better-auth/oauth-provider` issued, accepted as what they are — the
//! authorizer as an OAuth 2.0 resource server. Rules read from the provider's own
//! introspection (`validateJwtAccessToken`, `validateOpaqueAccessToken`, 1.7.5):
//!
//! - A **JWT access token** (`typ: at+jwt`) is verified on the jwt plugin's keys: `iss` exactly
//!   the configured issuer, `aud` containing one of `BETTER_AUTH_OAUTH_RESOURCES` (exact
//!   strings), `exp`/`nbf`/`iat` with the leeway, `azp` a client that exists and is not
//!   disabled, every audience value still a registered resource, the `sid` session alive.
//! - An **opaque access token** carries the configured prefix (`BETTER_AUTH_OAUTH_OPAQUE_PREFIX`)
//!   and is looked up by base64url SHA-256 (unpadded) of the rest — the provider's
//!   `storeTokens: "hashed"` default — in one statement: expired, revoked, a disabled client,
//!   a removed resource or an ended session refuse it.
//! - Then, as for every credential here, the user must exist, not be banned and meet the
//!   policy (stricter than introspection for bans). A client-credentials token (`sub` is the
//!   client) is a machine principal: no user.
//! - A sender-constrained token (`cnf`, DPoP) is never accepted as a plain bearer token.
//!
//! Exclusive, and ahead of `jwt`: it claims only its own bearer values (an `at+jwt` JWS, or the
//! opaque prefix), so a session token is never tried here and these are never tried as sessions.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::contract::{Claim, Common, Context, CredentialMethod, Precedence, Verdict, Verified};
use crate::credentials::{self, CredentialSource, RawCredentials};
use crate::env::{ConfigError, Env, invalid};
use crate::error::AuthError;
use crate::identity::{OAuthClaims, OAuthSubject, Refusal, evaluate_oauth};
use crate::jose;
use crate::session_jwt::TokenError;
use crate::store::port::{AuthStore, OAuthSubjectLookup};
use crate::telemetry::fingerprint;

/// The `typ` of an RFC 9068 JWT access token (the provider writes `at+jwt`).
const ACCESS_TOKEN_TYPES: [&str; 2] = ["at+jwt", "application/at+jwt"];

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
}

/// Verifies OAuth access tokens.
#[derive(Debug)]
pub struct OAuthMethod {
    settings: OAuthSettings,
}

/// A bearer value this method owns.
#[derive(Debug)]
pub enum OAuthToken {
    /// An `at+jwt`.
    Jwt(String),
    /// An opaque token, its prefix removed.
    Opaque(String),
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

impl CredentialMethod for OAuthMethod {
    type Settings = OAuthSettings;
    type Credential = OAuthToken;
    const PRECEDENCE: Precedence = Precedence::ExclusiveFirst;
    const OWNS_BEARER_VALUES: bool = true;

    fn settings(
        env: &Env<'_>,
        common: &Common<'_>,
        configured: bool,
    ) -> Result<OAuthSettings, ConfigError> {
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
        })
    }

    fn new(settings: &OAuthSettings) -> Result<Self, ConfigError> {
        Ok(Self {
            settings: settings.clone(),
        })
    }

    fn claim<S: AuthStore>(
        &self,
        request: &RawCredentials<'_>,
        _: &Context<'_, S>,
    ) -> Claim<OAuthToken> {
        match credentials::bearer(request) {
            Some(value) => self.recognise(value).map_or(Claim::Absent, Claim::Present),
            None => Claim::Absent,
        }
    }

    fn fingerprint(credential: &OAuthToken) -> String {
        match credential {
            OAuthToken::Jwt(token) | OAuthToken::Opaque(token) => fingerprint(token),
        }
    }

    fn owns_bearer(&self, value: &str) -> bool {
        self.recognise(value).is_some()
    }

    async fn verify<S: AuthStore>(&self, token: &OAuthToken, context: &Context<'_, S>) -> Verdict {
        let checked = match token {
            OAuthToken::Jwt(jwt) => self.check_jwt(jwt, context).await,
            OAuthToken::Opaque(token) => self.check_opaque(token, context).await,
        };
        match checked {
            Err(error @ (AuthError::Store(_) | AuthError::Keys(_))) => Verdict::Unavailable(error),
            decided => Verdict::Decided(decided),
        }
    }
}

/// The claims of a JWT access token we read.
#[derive(Debug, Deserialize)]
struct AccessClaims {
    #[serde(default)]
    iss: Option<String>,
    #[serde(default)]
    aud: Option<serde_json::Value>,
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    azp: Option<String>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    sid: Option<String>,
    exp: Option<i64>,
    #[serde(default)]
    nbf: Option<i64>,
    #[serde(default)]
    iat: Option<i64>,
    #[serde(default)]
    cnf: Option<serde_json::Value>,
}

/// A string or an array of strings (`aud`); anything else is no audience.
fn audience(value: Option<&serde_json::Value>) -> Result<Vec<String>, TokenError> {
    match value {
        None => Ok(Vec::new()),
        Some(serde_json::Value::String(one)) => Ok(vec![one.clone()]),
        Some(serde_json::Value::Array(many)) => many
            .iter()
            .map(|v| v.as_str().map(str::to_owned).ok_or(TokenError::Claims))
            .collect(),
        Some(_) => Err(TokenError::Claims),
    }
}

/// Stored scopes: a JSON array (the provider's `string[]`, jsonb) or a space-separated string.
fn stored_scopes(text: &str) -> String {
    match serde_json::from_str::<Vec<String>>(text) {
        Ok(scopes) => scopes.join(" "),
        Err(_) => text.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

impl OAuthMethod {
    /// The token, when the bearer value is this method's by shape or prefix.
    fn recognise(&self, value: &str) -> Option<OAuthToken> {
        if jose::looks_like_jws(value) {
            let jws = jose::parse_jws(value).ok()?;
            let typ = jws.header.typ.as_deref()?;
            return ACCESS_TOKEN_TYPES
                .iter()
                .any(|t| typ.eq_ignore_ascii_case(t))
                .then(|| OAuthToken::Jwt(value.to_owned()));
        }
        let prefix = self.settings.opaque_prefix.as_deref()?;
        let rest = value.strip_prefix(prefix)?;
        (!rest.is_empty()).then(|| OAuthToken::Opaque(rest.to_owned()))
    }

    /// The first configured resource the audience names (exact strings).
    fn matched_resource(&self, audience: &[String]) -> Option<String> {
        self.settings
            .resources
            .iter()
            .find(|r| audience.iter().any(|a| a == *r))
            .cloned()
    }

    fn check_scopes(&self, scopes: &str) -> Result<(), Refusal> {
        let granted: Vec<&str> = scopes.split(' ').collect();
        match self
            .settings
            .required_scopes
            .iter()
            .all(|r| granted.contains(&r.as_str()))
        {
            true => Ok(()),
            false => Err(Refusal::InsufficientScope),
        }
    }

    async fn check_jwt<S: AuthStore>(
        &self,
        jwt: &str,
        context: &Context<'_, S>,
    ) -> Result<Verified, AuthError> {
        let jws = jose::parse_jws(jwt).map_err(TokenError::from)?;
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
        let claims: AccessClaims =
            serde_json::from_slice(&payload).map_err(|_| TokenError::Claims)?;
        let now = Utc::now();
        let leeway = self.settings.leeway_seconds;
        if claims.iss.as_deref() != Some(self.settings.issuer.as_str()) {
            return Err(TokenError::Issuer.into());
        }
        let exp = claims.exp.ok_or(TokenError::Claims)?;
        if exp + leeway <= now.timestamp() {
            return Err(TokenError::Expired.into());
        }
        if [claims.nbf, claims.iat]
            .into_iter()
            .flatten()
            .any(|t| t - leeway > now.timestamp())
        {
            return Err(TokenError::NotYetValid.into());
        }
        let audience = audience(claims.aud.as_ref())?;
        let resource = self
            .matched_resource(&audience)
            .ok_or(TokenError::Audience)?;
        // The provider answers inactive without `azp`; `sub` names the user or, for client
        // credentials, the client itself.
        let client_id = claims.azp.ok_or(TokenError::Claims)?;
        let sub = claims.sub.ok_or(TokenError::Claims)?;
        let refused = |reason, user: Option<&str>| AuthError::Refused {
            reason,
            user_id: user.map(str::to_owned),
        };
        let machine = sub == client_id;
        let user_id = (!machine).then(|| sub.clone());
        if claims.cnf.is_some() {
            return Err(refused(Refusal::DpopRequired, user_id.as_deref()));
        }
        let scopes = claims.scope.unwrap_or_default();
        self.check_scopes(&scopes)
            .map_err(|r| refused(r, user_id.as_deref()))?;
        let audiences: Vec<String> = audience
            .into_iter()
            .filter(|a| *a != self.settings.userinfo_audience)
            .collect();
        let subject = context
            .store
            .oauth_subject(&OAuthSubjectLookup {
                client_id: &client_id,
                // A client-credentials token's `sub` is its client: looked up as a user too, so
                // that a user whose id equals a client id is never taken for a machine.
                user_id: Some(sub.as_str()),
                session_id: claims.sid.as_deref(),
                audiences: &audiences,
            })
            .await?;
        if machine && subject.user.is_some() {
            // `sub` names both the client and a user: which one the token is for cannot be
            // told, so it is neither.
            return Err(refused(Refusal::Unknown, None));
        }
        let expires_at = DateTime::from_timestamp(exp, 0).ok_or(TokenError::Claims)?;
        self.decide(
            OAuthClaims {
                client_id,
                user_id,
                session_id: claims.sid,
                scopes,
                resource: Some(resource),
                expires_at,
            },
            subject,
            now,
            context,
        )
    }

    async fn check_opaque<S: AuthStore>(
        &self,
        token: &str,
        context: &Context<'_, S>,
    ) -> Result<Verified, AuthError> {
        let hash = URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()));
        let record = context
            .store
            .oauth_access_token(&hash, &self.settings.userinfo_audience)
            .await?
            .ok_or(AuthError::Refused {
                reason: Refusal::Unknown,
                user_id: None,
            })?;
        let now = Utc::now();
        let refused = |reason| AuthError::Refused {
            reason,
            user_id: record.user_id.clone(),
        };
        if record.expires_at <= now {
            return Err(refused(Refusal::Expired));
        }
        if record.revoked {
            return Err(refused(Refusal::Revoked));
        }
        if record.sender_constrained {
            return Err(refused(Refusal::DpopRequired));
        }
        // Issued for resources: one must be ours (a token for another API is not for this
        // one). Issued for none: the provider's introspection answers active, and so do we.
        let resource = match record.resources.as_deref() {
            None => None,
            Some(text) => {
                let resources: Vec<String> =
                    serde_json::from_str(text).map_err(|_| TokenError::Claims)?;
                if resources.is_empty() {
                    None
                } else {
                    Some(
                        self.matched_resource(&resources)
                            .ok_or(TokenError::Audience)?,
                    )
                }
            }
        };
        let scopes = stored_scopes(&record.scopes);
        self.check_scopes(&scopes).map_err(refused)?;
        self.decide(
            OAuthClaims {
                client_id: record.client_id,
                user_id: record.user_id,
                session_id: record.session_id,
                scopes,
                resource,
                expires_at: record.expires_at,
            },
            record.subject,
            now,
            context,
        )
    }

    fn decide<S: AuthStore>(
        &self,
        claims: OAuthClaims,
        subject: OAuthSubject,
        now: DateTime<Utc>,
        context: &Context<'_, S>,
    ) -> Result<Verified, AuthError> {
        let user_id = claims.user_id.clone();
        let identity = evaluate_oauth(claims, subject, now, context.policy).map_err(|reason| {
            AuthError::Refused {
                reason,
                user_id: user_id.clone(),
            }
        })?;
        Ok(Verified {
            identity,
            source: CredentialSource::OAuth,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn method(prefix: Option<&str>) -> OAuthMethod {
        OAuthMethod {
            settings: OAuthSettings {
                resources: vec!["https://api.example".into()],
                issuer: "https://auth.example/api/auth".into(),
                opaque_prefix: prefix.map(str::to_owned),
                ..OAuthSettings::default()
            },
        }
    }

    fn jws(header: &str) -> String {
        format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode("{}"),
            URL_SAFE_NO_PAD.encode("sig")
        )
    }

    #[test]
    fn it_owns_only_access_tokens_and_its_prefix() {
        let m = method(Some("bao_"));
        assert!(m.owns_bearer(&jws(r#"{"alg":"EdDSA","typ":"at+jwt"}"#)));
        assert!(m.owns_bearer(&jws(r#"{"alg":"EdDSA","typ":"application/at+jwt"}"#)));
        // Session JWTs, ID tokens: not ours.
        assert!(!m.owns_bearer(&jws(r#"{"alg":"EdDSA","typ":"JWT"}"#)));
        assert!(!m.owns_bearer(&jws(r#"{"alg":"EdDSA"}"#)));
        assert!(m.owns_bearer("bao_abcdef"));
        assert!(!m.owns_bearer("bao_"));
        // A session token (signed or not) is never ours.
        assert!(!m.owns_bearer("16wdRQ2r5xE3DyCPTsx4SQXF5yuasMk1"));
        assert!(!m.owns_bearer("16wdRQ2r5xE3DyCPTsx4SQXF5yuasMk1.c2lnbmF0dXJl"));
        // Without a prefix, no opaque value is ours.
        assert!(!method(None).owns_bearer("bao_abcdef"));
    }

    #[test]
    fn audiences_match_exactly() {
        let m = method(None);
        let aud = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            m.matched_resource(&aud(&["x", "https://api.example"])),
            Some("https://api.example".into())
        );
        assert_eq!(m.matched_resource(&aud(&["https://api.example/"])), None);
        assert_eq!(
            m.matched_resource(&aud(&["https://api.example.evil"])),
            None
        );
        assert_eq!(m.matched_resource(&aud(&["https://api"])), None);
    }

    #[test]
    fn stored_scopes_read_both_forms() {
        assert_eq!(stored_scopes(r#"["openid", "read"]"#), "openid read");
        assert_eq!(stored_scopes("openid  read"), "openid read");
    }
}
