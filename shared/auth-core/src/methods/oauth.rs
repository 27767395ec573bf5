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
use crate::jose::dpop::{Proof, ProofError, ProofRequest};
use crate::session_jwt::TokenError;
use crate::store::dpop_replay::ProofReplayStore;
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
    /// `BETTER_AUTH_OAUTH_DPOP`: DPoP-bound tokens accepted with their proof.
    pub dpop: Option<DpopSettings>,
}

/// How DPoP proofs are checked and where their ids are recorded.
#[derive(Clone)]
pub struct DpopSettings {
    /// `BETTER_AUTH_OAUTH_DPOP_MAX_AGE_SECONDS` (default 300, the provider's
    /// `dpop.proofMaxAgeSeconds`).
    pub max_age_seconds: i64,
    /// The setting the Redis URL came from.
    redis_var: &'static str,
    redis_url: String,
    /// `BETTER_AUTH_SECONDARY_STORAGE_PREFIX` (default `better-auth:`).
    prefix: String,
    connect_timeout: std::time::Duration,
    command_timeout: std::time::Duration,
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
    // The same opt-in as the secondary storage's for a `rediss://…#insecure` URL.
    let allow_insecure = env.flag("BETTER_AUTH_SECONDARY_STORAGE_ALLOW_INSECURE_TLS", false)?;
    crate::store::redis_link::check_url(
        redis_var,
        &redis_url,
        (!allow_insecure).then_some("BETTER_AUTH_SECONDARY_STORAGE_ALLOW_INSECURE_TLS"),
    )?;
    Ok(Some(DpopSettings {
        max_age_seconds,
        redis_var,
        redis_url,
        prefix: crate::store::secondary::storage_prefix(env)?,
        connect_timeout: common.connect_timeout,
        command_timeout: common.command_timeout,
    }))
}

/// Verifies OAuth access tokens.
#[derive(Debug)]
pub struct OAuthMethod {
    settings: OAuthSettings,
    /// DPoP, when on; `None`: DPoP-bound tokens are refused. Boxed: the methods are an enum,
    /// sized by its largest.
    dpop: Option<Box<Dpop>>,
}

/// DPoP checking: how old a proof may be, and where proof ids are recorded.
#[derive(Debug)]
struct Dpop {
    max_age_seconds: i64,
    replay: ProofReplayStore,
}

/// An access token this method owns, and how it was presented.
#[derive(Debug)]
pub struct OAuthToken {
    kind: TokenKind,
    presented: Presented,
}

/// The token's form.
#[derive(Debug)]
enum TokenKind {
    /// An `at+jwt`.
    Jwt(String),
    /// An opaque token, its prefix removed.
    Opaque(String),
}

/// How the token came.
#[derive(Debug)]
enum Presented {
    /// `Authorization: Bearer`.
    Bearer,
    /// `Authorization: DPoP`, with what its proof is checked against.
    Dpop(DpopPresentation),
}

/// A token presented under the DPoP scheme.
#[derive(Debug)]
struct DpopPresentation {
    /// The token as presented (its `ath` is hashed over this).
    token: String,
    /// Every `DPoP` header value.
    proofs: Vec<String>,
    /// The request's method and URL, when the event says.
    request: Option<(String, String)>,
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
            // Parsed only for a configured method: DPoP on without Redis is then a start-up
            // error, never tokens refused in silence.
            dpop: match configured {
                true => dpop_settings(env, common)?,
                false => None,
            },
        })
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
            Ok((verified, Some((proof, dpop)))) => Self::spend(dpop, &proof, verified).await,
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

/// The key a `cnf` confirmation binds the token to: `Ok(None)` without one, `Ok(Some(jkt))`
/// for DPoP, `Err` for a confirmation we cannot check (mTLS `x5t#S256`, garbage): never a
/// plain bearer token.
fn bound_key(cnf: Option<&serde_json::Value>) -> Result<Option<String>, ()> {
    match cnf {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(value) => value
            .get("jkt")
            .and_then(serde_json::Value::as_str)
            .filter(|jkt| !jkt.is_empty())
            .map(|jkt| Some(jkt.to_owned()))
            .ok_or(()),
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

    /// Whether the token's binding (`jkt`: its confirmation key, if any) holds for how it was
    /// presented at `now`; for a DPoP-bound token, the proof checked but for its one-time use,
    /// which [`Self::spend`] records once everything else passed. No I/O.
    fn binding(
        &self,
        jkt: Option<&str>,
        presented: &Presented,
        user_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Option<(Proof, &Dpop)>, AuthError> {
        let refused = |reason| AuthError::Refused {
            reason,
            user_id: user_id.map(str::to_owned),
        };
        let (jkt, presentation) = match (jkt, presented) {
            (None, Presented::Bearer) => return Ok(None),
            (None, Presented::Dpop(_)) => return Err(refused(Refusal::DpopNotBound)),
            (Some(_), Presented::Bearer) => return Err(refused(Refusal::DpopRequired)),
            (Some(jkt), Presented::Dpop(presentation)) => (jkt, presentation),
        };
        let Some(dpop) = self.dpop.as_deref() else {
            return Err(refused(Refusal::DpopRequired));
        };
        let (method, url) = presentation
            .request
            .as_ref()
            .ok_or_else(|| refused(Refusal::DpopNoRequest))?;
        // One proof per request (RFC 9449 §4.3): different values are refused. Equal ones are
        // one header seen twice (a REST event carries each in `headers` and
        // `multiValueHeaders`).
        let proof = match presentation.proofs.split_first() {
            None => return Err(refused(Refusal::DpopRequired)),
            Some((first, rest)) if rest.iter().all(|p| p == first) => first,
            Some(_) => return Err(TokenError::Dpop(ProofError::Several).into()),
        };
        jose::dpop::verify_proof(
            proof,
            &ProofRequest {
                method,
                url,
                access_token: &presentation.token,
                expected_jkt: jkt,
                now: now.timestamp(),
                max_age_seconds: dpop.max_age_seconds,
            },
        )
        .map(|proof| Some((proof, dpop)))
        .map_err(|e| TokenError::Dpop(e).into())
    }

    /// Records the proof's id: the caller stands when it was never seen, is refused when it
    /// was (a replay), and cannot be answered when Redis cannot (never an allow).
    async fn spend(dpop: &Dpop, proof: &Proof, verified: Verified) -> Result<Verified, AuthError> {
        // Until the proof's acceptance ends; none left (the store was slow): too old now.
        let ttl_ms = u64::try_from(proof.expires_at_ms - Utc::now().timestamp_millis())
            .ok()
            .filter(|ms| *ms > 0)
            .ok_or(TokenError::Dpop(ProofError::Age))?;
        let ttl = std::time::Duration::from_millis(ttl_ms);
        match dpop.replay.reserve(&proof.replay_key, ttl).await? {
            true => Ok(verified),
            false => Err(AuthError::Refused {
                reason: Refusal::DpopReplayed,
                user_id: verified.identity.user_id.clone(),
            }),
        }
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
        let proof = self.binding(jkt.as_deref(), presented, user_id.as_deref(), now)?;
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
        let confirmation = match record.confirmation.as_deref().map(str::trim) {
            None | Some("" | "null") => None,
            Some(text) => Some(
                serde_json::from_str::<serde_json::Value>(text)
                    .map_err(|_| refused(Refusal::DpopRequired))?,
            ),
        };
        let jkt = bound_key(confirmation.as_ref()).map_err(|()| refused(Refusal::DpopRequired))?;
        let proof = self.binding(jkt.as_deref(), presented, record.user_id.as_deref(), now)?;
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
