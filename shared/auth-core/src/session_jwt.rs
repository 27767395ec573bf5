//! Better Auth JWTs (the `jwt` plugin's `/api/auth/token` and `set-auth-jwt` tokens): from a
//! verified payload to an [`Identity`]. Pure; the signature is checked by [`crate::jose`] first.
//!
//! The plugin puts the whole user object in the claims plus `sub` (the user id), `iat`, `exp`
//! (15 minutes later by default), `iss` and `aud` (the base URL). There is no session id.

use chrono::{DateTime, TimeZone, Utc};
use serde::Deserialize;

use crate::identity::{Identity, Policy, Refusal, is_banned};
use crate::jose::JoseError;

/// What a token must say besides its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRules {
    /// Expected `iss` (default: the origin of `BETTER_AUTH_URL`).
    pub issuer: String,
    /// Expected `aud`, as a string or among an array (default: the origin of `BETTER_AUTH_URL`).
    pub audience: String,
    /// Clock skew tolerated on `exp` and `nbf`, in seconds.
    pub leeway_seconds: i64,
}

/// Why a JWT or cookie cache was not accepted. Every variant means "not authenticated".
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The compact serialization, the algorithm, the key or the signature.
    #[error(transparent)]
    Jose(#[from] JoseError),
    /// `exp` is in the past (beyond the leeway).
    #[error("token expired")]
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    #[error("token not yet valid")]
    NotYetValid,
    /// `iss` is not the expected issuer.
    #[error("wrong issuer")]
    Issuer,
    /// `aud` does not include the expected audience.
    #[error("wrong audience")]
    Audience,
    /// A required claim (`sub`, `exp`) is missing or of the wrong type.
    #[error("missing or malformed claims")]
    Claims,
    /// Another kind of token signed with the same keys: an OAuth access token (`at+jwt`, or
    /// `azp`/`client_id`/`scope` claims), an OpenID Connect ID token, a logout token, a cookie
    /// cache. Never a session.
    #[error("not a Better Auth session token")]
    NotASessionToken,
    /// The DPoP proof that came with a sender-constrained OAuth access token.
    #[error(transparent)]
    Dpop(#[from] crate::jose::dpop::ProofError),
}

impl TokenError {
    /// A stable short code for logs.
    pub fn code(self) -> &'static str {
        match self {
            Self::Jose(JoseError::Malformed) => "jwt_malformed",
            Self::Jose(JoseError::Algorithm) => "jwt_algorithm_refused",
            Self::Jose(JoseError::UnknownKey) => "jwt_unknown_key",
            Self::Jose(JoseError::Signature) => "jwt_bad_signature",
            Self::Jose(JoseError::Key) => "jwt_unusable_key",
            Self::Expired => "jwt_expired",
            Self::NotYetValid => "jwt_not_yet_valid",
            Self::Issuer => "jwt_wrong_issuer",
            Self::Audience => "jwt_wrong_audience",
            Self::Claims => "jwt_bad_claims",
            Self::NotASessionToken => "jwt_not_a_session_token",
            Self::Dpop(e) => e.code(),
        }
    }
}

/// The claims we read; everything else in the token is ignored.
#[derive(Debug, Deserialize)]
struct Claims {
    sub: Option<String>,
    exp: Option<i64>,
    #[serde(default)]
    nbf: Option<i64>,
    #[serde(default)]
    iss: Option<String>,
    #[serde(default)]
    aud: Option<serde_json::Value>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    role: Option<String>,
    #[serde(default, rename = "emailVerified")]
    email_verified: Option<bool>,
    #[serde(default)]
    banned: Option<bool>,
    #[serde(default, rename = "banExpires")]
    ban_expires: Option<DateTime<Utc>>,
    // Claims of OAuth 2.0 / OIDC tokens (oauth-provider, MCP): their presence marks another
    // kind of token, whatever its audience.
    #[serde(default)]
    azp: Option<serde_json::Value>,
    #[serde(default)]
    client_id: Option<serde_json::Value>,
    #[serde(default)]
    scope: Option<serde_json::Value>,
    /// Every other claim: Better Auth's JWT payload is the user, plugin and app fields included.
    #[serde(flatten)]
    other: serde_json::Map<String, serde_json::Value>,
}

/// Claims only OpenID Connect ID tokens carry (oauth-provider signs them with the jwt plugin's
/// keys, `typ` `JWT`, `aud` the client's id): their presence marks an ID token, never a session.
const ID_TOKEN_CLAIMS: [&str; 6] = ["at_hash", "c_hash", "nonce", "auth_time", "acr", "amr"];

/// Whether a JWS header's `typ` is a session JWT's: absent or `JWT`. Access tokens (`at+jwt`),
/// logout tokens (`logout+jwt`) and cookie caches (`better-auth.session-cache+jwt`) are signed
/// with the same keys and are refused by the `jwt` method.
pub fn is_session_typ(typ: Option<&str>) -> bool {
    typ.is_none_or(|t| t.eq_ignore_ascii_case("JWT"))
}

/// Checks `exp` (required) and `nbf` (when present) at `now`, with `leeway_seconds`.
pub fn check_times(
    exp: Option<i64>,
    nbf: Option<i64>,
    now: DateTime<Utc>,
    leeway_seconds: i64,
) -> Result<DateTime<Utc>, TokenError> {
    let now_s = now.timestamp();
    let exp = exp.ok_or(TokenError::Claims)?;
    if exp.saturating_add(leeway_seconds) <= now_s {
        return Err(TokenError::Expired);
    }
    if nbf.is_some_and(|nbf| nbf.saturating_sub(leeway_seconds) > now_s) {
        return Err(TokenError::NotYetValid);
    }
    Utc.timestamp_opt(exp, 0).single().ok_or(TokenError::Claims)
}

/// True when `aud` is `expected` or an array containing it.
pub fn audience_matches(aud: Option<&serde_json::Value>, expected: &str) -> bool {
    match aud {
        Some(serde_json::Value::String(a)) => a == expected,
        Some(serde_json::Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(expected)),
        _ => false,
    }
}

/// What a verified access token says, before bans and policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenIdentity {
    /// The identity (no session id: a JWT carries none).
    pub identity: Identity,
    /// `banned` as of when the token was minted.
    pub banned: Option<bool>,
    /// `banExpires` as of when the token was minted.
    pub ban_expires: Option<DateTime<Utc>>,
}

/// Reads a verified payload: times, issuer, audience, then the identity.
pub fn read_claims(
    payload: &[u8],
    rules: &ClaimRules,
    now: DateTime<Utc>,
) -> Result<TokenIdentity, TokenError> {
    let claims: Claims = serde_json::from_slice(payload).map_err(|_| TokenError::Claims)?;
    if claims.azp.is_some() || claims.client_id.is_some() || claims.scope.is_some() {
        return Err(TokenError::NotASessionToken);
    }
    if ID_TOKEN_CLAIMS
        .iter()
        .any(|c| claims.other.contains_key(*c))
    {
        return Err(TokenError::NotASessionToken);
    }
    let expires_at = check_times(claims.exp, claims.nbf, now, rules.leeway_seconds)?;
    if claims.iss.as_deref() != Some(rules.issuer.as_str()) {
        return Err(TokenError::Issuer);
    }
    if !audience_matches(claims.aud.as_ref(), &rules.audience) {
        return Err(TokenError::Audience);
    }
    let user_id = claims
        .sub
        .filter(|s| !s.is_empty())
        .ok_or(TokenError::Claims)?;
    Ok(TokenIdentity {
        identity: Identity {
            user_id: Some(user_id),
            session_id: None,
            email: claims.email.unwrap_or_default(),
            name: claims.name.unwrap_or_default(),
            role: claims.role,
            email_verified: claims.email_verified.unwrap_or(false),
            impersonated_by: None,
            expires_at: Some(expires_at),
            grant: crate::identity::Grant::User,
            extras: crate::identity::json_extras(&claims.other),
            organization: None,
        },
        banned: claims.banned,
        ban_expires: claims.ban_expires,
    })
}

impl TokenIdentity {
    /// Bans as of minting, then the policy.
    pub fn check(&self, now: DateTime<Utc>, policy: Policy) -> Result<(), Refusal> {
        if is_banned(self.banned, self.ban_expires, now) {
            return Err(Refusal::Banned);
        }
        if policy.require_email_verified && !self.identity.email_verified {
            return Err(Refusal::EmailNotVerified);
        }
        if policy.refuse_anonymous && crate::identity::is_anonymous(&self.identity.extras) {
            return Err(Refusal::Anonymous);
        }
        if policy.require_active_organization {
            // A JWT is a snapshot of the user, not of a membership: it confirms none.
            return Err(Refusal::NoActiveOrganization);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules() -> ClaimRules {
        ClaimRules {
            issuer: "https://auth.example.com".into(),
            audience: "https://auth.example.com".into(),
            leeway_seconds: 5,
        }
    }

    fn payload(now: i64, change: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
        let mut claims = json!({
            "sub": "u1", "id": "u1", "email": "a@example.com", "name": "A",
            "emailVerified": true, "role": "admin", "banned": false, "banExpires": null,
            "iat": now, "exp": now + 900,
            "iss": "https://auth.example.com", "aud": "https://auth.example.com",
        });
        change(&mut claims);
        serde_json::to_vec(&claims).expect("json")
    }

    #[test]
    fn a_fresh_token_is_an_identity_without_session() {
        let now = Utc::now();
        let t = read_claims(&payload(now.timestamp(), |_| {}), &rules(), now).expect("valid");
        assert_eq!(t.identity.user_id.as_deref(), Some("u1"));
        assert_eq!(t.identity.session_id, None);
        assert_eq!(t.identity.role.as_deref(), Some("admin"));
        assert!(t.identity.email_verified);
        assert_eq!(
            t.identity.expires_at.map(|at| at.timestamp()),
            Some(now.timestamp() + 900)
        );
        assert_eq!(t.check(now, Policy::default()), Ok(()));
    }

    #[test]
    fn times_issuer_and_audience_are_enforced() {
        let now = Utc::now();
        let n = now.timestamp();
        let read = |change: &dyn Fn(&mut serde_json::Value)| {
            read_claims(&payload(n, |c| change(c)), &rules(), now).map(|_| ())
        };
        assert_eq!(read(&|c| c["exp"] = json!(n - 6)), Err(TokenError::Expired));
        assert_eq!(
            read(&|c| c["exp"] = json!(n - 4)),
            Ok(()),
            "within the leeway"
        );
        assert_eq!(
            read(&|c| c["nbf"] = json!(n + 60)),
            Err(TokenError::NotYetValid)
        );
        assert_eq!(
            read(&|c| c["iss"] = json!("https://evil.example")),
            Err(TokenError::Issuer)
        );
        assert_eq!(
            read(&|c| {
                c.as_object_mut().map(|o| o.remove("iss"));
            }),
            Err(TokenError::Issuer)
        );
        assert_eq!(
            read(&|c| c["aud"] = json!("https://api.example")),
            Err(TokenError::Audience)
        );
        assert_eq!(
            read(&|c| c["aud"] = json!(["x", "https://auth.example.com"])),
            Ok(())
        );
        assert_eq!(
            read(&|c| {
                c.as_object_mut().map(|o| o.remove("exp"));
            }),
            Err(TokenError::Claims)
        );
        assert_eq!(read(&|c| c["sub"] = json!("")), Err(TokenError::Claims));
        assert_eq!(read(&|c| c["exp"] = json!("soon")), Err(TokenError::Claims));
    }

    #[test]
    fn oauth_and_other_tokens_are_not_sessions() {
        let now = Utc::now();
        for claim in [
            "azp",
            "client_id",
            "scope",
            "at_hash",
            "c_hash",
            "nonce",
            "auth_time",
            "acr",
            "amr",
        ] {
            let other = payload(now.timestamp(), |c| c[claim] = json!("x"));
            assert_eq!(
                read_claims(&other, &rules(), now).map(|_| ()),
                Err(TokenError::NotASessionToken),
                "{claim}"
            );
        }
        assert!(is_session_typ(None));
        assert!(is_session_typ(Some("JWT")));
        assert!(is_session_typ(Some("jwt")));
        for typ in [
            "at+jwt",
            "logout+jwt",
            "better-auth.session-cache+jwt",
            "JWS",
        ] {
            assert!(!is_session_typ(Some(typ)), "{typ}");
        }
    }

    #[test]
    fn bans_in_the_token_and_the_policy_refuse() {
        let now = Utc::now();
        let banned = payload(now.timestamp(), |c| c["banned"] = json!(true));
        let t = read_claims(&banned, &rules(), now).expect("valid");
        assert_eq!(t.check(now, Policy::default()), Err(Refusal::Banned));
        let unverified = payload(now.timestamp(), |c| c["emailVerified"] = json!(false));
        let t = read_claims(&unverified, &rules(), now).expect("valid");
        let strict = Policy {
            require_email_verified: true,
            ..Policy::default()
        };
        assert_eq!(t.check(now, strict), Err(Refusal::EmailNotVerified));
        let verified =
            read_claims(&payload(now.timestamp(), |_| {}), &rules(), now).expect("valid");
        let organization = Policy {
            require_active_organization: true,
            ..Policy::default()
        };
        assert_eq!(
            verified.check(now, organization),
            Err(Refusal::NoActiveOrganization),
            "a JWT confirms no membership"
        );
    }
}
