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
//! - A sender-constrained token (`cnf.jkt`, DPoP) is never accepted as a plain bearer token.
//!   With `BETTER_AUTH_OAUTH_DPOP` it is accepted as `Authorization: DPoP <token>` with one
//!   `DPoP` proof for this request's method and URL ([`crate::jose::dpop`], as the provider's
//!   `enforceDpopBinding`), used once: its id is recorded in Redis
//!   ([`crate::store::dpop_replay`]) after every other check passed. A `DPoP` scheme with a
//!   token bound to no key is refused, as the provider refuses it.
//!
//! Exclusive, and ahead of `jwt`: it claims only its own bearer values (an `at+jwt` JWS, or the
//! opaque prefix), so a session token is never tried here and these are never tried as sessions.

mod cache;
mod dpop;
mod settings;

pub use settings::{DpopSettings, OAuthSettings};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use self::cache::{StoreAnswers, cached, subject_key};
use self::dpop::{Dpop, DpopPresentation, Presented, bound_key};
use super::contract::{Claim, Common, Context, CredentialMethod, Precedence, Verdict, Verified};
use crate::credentials::{self, CredentialSource, RawCredentials};
use crate::env::{ConfigError, Env};
use crate::error::AuthError;
use crate::identity::{OAuthClaims, OAuthSubject, Refusal, evaluate_oauth};
use crate::jose;
use crate::jose::dpop::Proof;
use crate::result_cache::ResultCache;
use crate::session_jwt::TokenError;
use crate::store::dpop_replay::ProofReplayStore;
use crate::store::port::{AuthStore, OAuthSubjectLookup};
use crate::telemetry::fingerprint;

/// The `typ` of an RFC 9068 JWT access token (the provider writes `at+jwt`).
const ACCESS_TOKEN_TYPES: [&str; 2] = ["at+jwt", "application/at+jwt"];

/// Verifies OAuth access tokens.
#[derive(Debug)]
pub struct OAuthMethod {
    settings: OAuthSettings,
    /// DPoP, when on; `None`: DPoP-bound tokens are refused. Boxed: the methods are an enum,
    /// sized by its largest.
    dpop: Option<Box<Dpop>>,
    /// What the store said about a JWT's client, session, audience and user, and about an
    /// opaque token (`AUTH_RESULT_CACHE_*`, each its own bound; off by default). Every use
    /// re-evaluates expiry, bans and scopes at its own time; what a hit can miss is a change
    /// made after the lookup (a revocation, a disabled client, a new ban), for at most the TTL.
    /// Boxed, as `dpop`.
    results: Box<StoreAnswers>,
}

/// An access token this method owns, and how it was presented.
pub struct OAuthToken {
    kind: TokenKind,
    presented: Presented,
}

impl std::fmt::Debug for OAuthToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token or its proof: a short hash, and how it came.
        f.debug_struct("OAuthToken")
            .field(
                "token",
                &<OAuthMethod as CredentialMethod>::fingerprint(self),
            )
            .field("dpop", &matches!(self.presented, Presented::Dpop(_)))
            .finish()
    }
}

/// The token's form.
#[derive(Debug)]
enum TokenKind {
    /// An `at+jwt`.
    Jwt(String),
    /// An opaque token, its prefix removed.
    Opaque(String),
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
        OAuthSettings::parse(env, common, configured)
    }

    fn new(settings: &OAuthSettings) -> Result<Self, ConfigError> {
        let dpop = settings
            .dpop
            .as_ref()
            .map(|d| {
                let replay = ProofReplayStore::new(
                    d.redis_var,
                    &d.redis_url,
                    &d.prefix,
                    d.connect_timeout,
                    d.command_timeout,
                )?;
                Ok::<_, ConfigError>(Box::new(Dpop {
                    max_age_seconds: d.max_age_seconds,
                    replay,
                }))
            })
            .transpose()?;
        Ok(Self {
            settings: settings.clone(),
            dpop,
            results: Box::new(StoreAnswers {
                subjects: ResultCache::new(settings.result_cache),
                tokens: ResultCache::new(settings.result_cache),
            }),
        })
    }

    fn claim<S: AuthStore>(
        &self,
        request: &RawCredentials<'_>,
        _: &Context<'_, S>,
    ) -> Claim<OAuthToken> {
        if let Some(value) = credentials::bearer(request) {
            return self.recognise(value).map_or(Claim::Absent, |kind| {
                Claim::Present(OAuthToken {
                    kind,
                    presented: Presented::Bearer,
                })
            });
        }
        // `DPoP <token>`: only an access token can be presented so; another value is left to
        // the other methods, which refuse the scheme.
        let Some(value) = credentials::dpop_bound(request) else {
            return Claim::Absent;
        };
        self.recognise(value).map_or(Claim::Absent, |kind| {
            Claim::Present(OAuthToken {
                kind,
                presented: Presented::Dpop(DpopPresentation {
                    token: value.to_owned(),
                    proofs: request
                        .dpop_proofs
                        .iter()
                        .map(|p| p.trim().to_owned())
                        .collect(),
                    request: request
                        .request
                        .as_ref()
                        .map(|r| (r.method.to_owned(), r.url.clone().into_owned())),
                }),
            })
        })
    }

    fn fingerprint(credential: &OAuthToken) -> String {
        match &credential.kind {
            TokenKind::Jwt(token) | TokenKind::Opaque(token) => fingerprint(token),
        }
    }

    fn owns_bearer(&self, value: &str) -> bool {
        self.recognise(value).is_some()
    }

    async fn verify<S: AuthStore>(&self, token: &OAuthToken, context: &Context<'_, S>) -> Verdict {
        let checked = match &token.kind {
            TokenKind::Jwt(jwt) => self.check_jwt(jwt, &token.presented, context).await,
            TokenKind::Opaque(opaque) => self.check_opaque(opaque, &token.presented, context).await,
        };
        let checked = match checked {
            Ok((verified, Some((proof, dpop)))) => dpop::spend(dpop, &proof, verified).await,
            Ok((verified, None)) => Ok(verified),
            Err(error) => Err(error),
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
    /// Whether DPoP-bound tokens are accepted with their proof (`BETTER_AUTH_OAUTH_DPOP`).
    pub fn checks_dpop(&self) -> bool {
        self.dpop.is_some()
    }

    /// The token, when the bearer value is this method's by shape or prefix.
    fn recognise(&self, value: &str) -> Option<TokenKind> {
        if jose::looks_like_jws(value) {
            let jws = jose::parse_jws(value).ok()?;
            let typ = jws.header.typ.as_deref()?;
            return ACCESS_TOKEN_TYPES
                .iter()
                .any(|t| typ.eq_ignore_ascii_case(t))
                .then(|| TokenKind::Jwt(value.to_owned()));
        }
        let prefix = self.settings.opaque_prefix.as_deref()?;
        let rest = value.strip_prefix(prefix)?;
        (!rest.is_empty()).then(|| TokenKind::Opaque(rest.to_owned()))
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
        presented: &Presented,
        context: &Context<'_, S>,
    ) -> Result<(Verified, Option<(Proof, &Dpop)>), AuthError> {
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
        let jkt = bound_key(claims.cnf.as_ref())
            .map_err(|()| refused(Refusal::DpopRequired, user_id.as_deref()))?;
        // Before the store is asked: a token presented without its proof costs no round trip.
        let proof = dpop::binding(
            self.dpop.as_deref(),
            jkt.as_deref(),
            presented,
            user_id.as_deref(),
            now,
        )?;
        let scopes = claims.scope.unwrap_or_default();
        self.check_scopes(&scopes)
            .map_err(|r| refused(r, user_id.as_deref()))?;
        let audiences: Vec<String> = audience
            .into_iter()
            .filter(|a| *a != self.settings.userinfo_audience)
            .collect();
        let lookup = OAuthSubjectLookup {
            client_id: &client_id,
            // A client-credentials token's `sub` is its client: looked up as a user too, so
            // that a user whose id equals a client id is never taken for a machine.
            user_id: Some(sub.as_str()),
            session_id: claims.sid.as_deref(),
            audiences: &audiences,
        };
        let subject = *cached(
            &self.results.subjects,
            || subject_key(&lookup),
            || async { context.store.oauth_subject(&lookup).await.map(Box::new) },
        )
        .await?;
        if machine && subject.user.is_some() {
            // `sub` names both the client and a user: which one the token is for cannot be
            // told, so it is neither.
            return Err(refused(Refusal::Unknown, None));
        }
        let expires_at = DateTime::from_timestamp(exp, 0).ok_or(TokenError::Claims)?;
        let verified = self.decide(
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
        )?;
        Ok((verified, proof))
    }

    async fn check_opaque<S: AuthStore>(
        &self,
        token: &str,
        presented: &Presented,
        context: &Context<'_, S>,
    ) -> Result<(Verified, Option<(Proof, &Dpop)>), AuthError> {
        let hash = URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()));
        let found = cached(
            &self.results.tokens,
            || crate::result_cache::key(&hash),
            || async {
                let record = context
                    .store
                    .oauth_access_token(&hash, &self.settings.userinfo_audience)
                    .await?;
                Ok(record.map(Box::new))
            },
        )
        .await?;
        let record = *found.ok_or(AuthError::Refused {
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
        let confirmation = match record.confirmation.as_deref().map(str::trim) {
            None | Some("" | "null") => None,
            Some(text) => Some(
                serde_json::from_str::<serde_json::Value>(text)
                    .map_err(|_| refused(Refusal::DpopRequired))?,
            ),
        };
        let jkt = bound_key(confirmation.as_ref()).map_err(|()| refused(Refusal::DpopRequired))?;
        let proof = dpop::binding(
            self.dpop.as_deref(),
            jkt.as_deref(),
            presented,
            record.user_id.as_deref(),
            now,
        )?;
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
        let verified = self.decide(
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
        )?;
        Ok((verified, proof))
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
            dpop: None,
            results: Box::new(StoreAnswers {
                subjects: ResultCache::new(crate::result_cache::CacheLimits::default()),
                tokens: ResultCache::new(crate::result_cache::CacheLimits::default()),
            }),
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
    fn debug_output_names_no_token() {
        let m = method(Some("bao_"));
        let token = OAuthToken {
            kind: m.recognise("bao_secret-token-value").expect("ours"),
            presented: Presented::Bearer,
        };
        let shown = format!("{token:?}");
        assert!(!shown.contains("secret-token-value"), "{shown}");
        assert!(
            shown.contains(&fingerprint("secret-token-value")),
            "{shown}"
        );
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
