//! Better Auth's cookie cache (`<prefix>.session_data`, `session.cookieCache`): a signed or
//! encrypted copy of the session and its user that lets a service skip the database for up to the
//! cache's max age (300 s by default). Pure; every check here runs before anything is trusted.
//!
//! The three strategies, as Better Auth 1.7 writes them:
//! - `compact`: base64url(JSON `{"session":<payload>,"expiresAt":<ms>,"signature":<sig>}`) with
//!   `sig` = base64url(HMAC-SHA256(secret, payload JSON with `,"expiresAt":<ms>` appended inside
//!   its last `}`)). Verified byte-exactly on the raw JSON text.
//! - `jwt`: HS256 keyed with the secret, claims = payload + `iat`/`exp`; or, with
//!   `jwt({ sessionCookieCache: true })`, signed by the jwt plugin's key (`typ`
//!   `better-auth.session-cache+jwt`, `aud` `better-auth:session-cache`, `sid` = token).
//! - `jwe`: `dir` + `A256CBC-HS512` with the key HKDF derives from the secret.
//!
//! A cache is accepted only when the outer expiry, the inner session expiry and the version hold
//! and the cached session's token equals the session cookie's; anything else is a [`CacheMiss`]
//! and the caller falls back to the database.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::Mac;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::identity::{SessionRecord, UserSnapshot};
use crate::jose::{self, JoseError, JweKey, KeySet};
use crate::session_jwt::{audience_matches, check_times};
use crate::signing::Secret;

/// The cookie's JWE salt in Better Auth.
pub const JWE_SALT: &str = "better-auth-session";
/// `typ` of a cookie cache signed by the jwt plugin.
pub const PLUGIN_TYP: &str = "better-auth.session-cache+jwt";
/// `aud` of a cookie cache signed by the jwt plugin.
pub const PLUGIN_AUDIENCE: &str = "better-auth:session-cache";
/// Longest reassembled cookie cache we read.
pub const MAX_CACHE_LEN: usize = 32 * 1024;

/// Better Auth's `session.cookieCache.strategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// `compact` (Better Auth's default).
    Compact,
    /// `jwt`.
    Jwt,
    /// `jwe`.
    Jwe,
}

impl Strategy {
    /// Parses `compact`, `jwt` or `jwe`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "compact" => Some(Self::Compact),
            "jwt" => Some(Self::Jwt),
            "jwe" => Some(Self::Jwe),
            _ => None,
        }
    }
}

/// How to read the cache.
#[derive(Debug, Clone)]
pub struct CacheSettings {
    /// The strategy Better Auth is configured with.
    pub strategy: Strategy,
    /// `session.cookieCache.version` (default `"1"`).
    pub version: String,
    /// The current secret (compact MAC, HS256).
    pub secret: Secret,
    /// The JWE keys of every configured secret (current first).
    pub jwe_keys: Vec<JweKey>,
    /// The `iss` of plugin-signed caches: Better Auth's `baseURL` as configured, else
    /// `better-auth:session-cache`.
    pub plugin_issuer: String,
    /// Clock skew tolerated on `exp`, in seconds (Better Auth's own check allows 15).
    pub leeway_seconds: i64,
}

/// Why a cookie cache was not used. The caller falls back to the next method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CacheMiss {
    /// No `session_data` cookie (or no session cookie to bind it to).
    #[error("no cookie cache")]
    Absent,
    /// Not decodable, wrong key, bad signature or tag.
    #[error("cookie cache invalid: {0}")]
    Invalid(JoseError),
    /// The payload is not the shape Better Auth writes.
    #[error("cookie cache payload malformed")]
    Payload,
    /// The cache itself has expired.
    #[error("cookie cache expired")]
    Expired,
    /// The cached session has expired.
    #[error("cached session expired")]
    SessionExpired,
    /// Written under another `version`.
    #[error("cookie cache version differs")]
    Version,
    /// The cached session is not the session cookie's.
    #[error("cookie cache belongs to another session")]
    TokenMismatch,
    /// The cached user is refused (banned, unverified): possibly stale, so not final.
    #[error("the cached user is refused")]
    Refused,
}

impl CacheMiss {
    /// A stable short code for logs.
    pub fn code(self) -> &'static str {
        match self {
            Self::Absent => "cache_absent",
            Self::Invalid(JoseError::Signature) => "cache_bad_signature",
            Self::Invalid(_) => "cache_invalid",
            Self::Payload => "cache_malformed",
            Self::Expired => "cache_expired",
            Self::SessionExpired => "cache_session_expired",
            Self::Version => "cache_version",
            Self::TokenMismatch => "cache_token_mismatch",
            Self::Refused => "cache_refused",
        }
    }
}

impl From<JoseError> for CacheMiss {
    fn from(error: JoseError) -> Self {
        Self::Invalid(error)
    }
}

#[derive(Debug, Deserialize)]
struct Payload {
    session: CachedSession,
    user: UserSnapshot,
    #[serde(default)]
    version: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CachedSession {
    id: String,
    token: String,
    user_id: String,
    expires_at: DateTime<Utc>,
    #[serde(default)]
    impersonated_by: Option<String>,
}

#[derive(Debug, Deserialize)]
struct TimedClaims {
    exp: Option<i64>,
    #[serde(default)]
    nbf: Option<i64>,
    #[serde(default)]
    iss: Option<String>,
    #[serde(default)]
    aud: Option<serde_json::Value>,
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    sid: Option<String>,
}

#[derive(Deserialize)]
struct Compact<'a> {
    #[serde(borrow)]
    session: &'a RawValue,
    #[serde(rename = "expiresAt")]
    expires_at: i64,
    signature: String,
}

/// The `kid` of a plugin-signed `jwt` cache, when `value` is one: the caller must then supply
/// the jwt plugin's keys to [`decode`].
pub fn plugin_key_id(value: &str, settings: &CacheSettings) -> Option<String> {
    if settings.strategy != Strategy::Jwt {
        return None;
    }
    let jws = jose::parse_jws(value).ok()?;
    (jws.header.typ.as_deref() == Some(PLUGIN_TYP))
        .then_some(jws.header.kid)
        .flatten()
}

/// Verifies a reassembled cookie cache and returns the session it vouches for, when every check
/// holds for `session_token` at `now`. `keys` are the jwt plugin's, for plugin-signed caches.
pub fn decode(
    value: &str,
    settings: &CacheSettings,
    keys: &KeySet,
    session_token: &str,
    now: DateTime<Utc>,
) -> Result<SessionRecord, CacheMiss> {
    if value.is_empty() {
        return Err(CacheMiss::Absent);
    }
    if value.len() > MAX_CACHE_LEN {
        return Err(CacheMiss::Invalid(JoseError::Malformed));
    }
    let payload: Payload = match settings.strategy {
        Strategy::Compact => compact(value, &settings.secret, now)?,
        Strategy::Jwe => {
            let plain = jose::decrypt_dir(value, &settings.jwe_keys)?;
            timed(&plain, None, settings, now)?
        }
        Strategy::Jwt => {
            let jws = jose::parse_jws(value)?;
            if jws.header.typ.as_deref() == Some(PLUGIN_TYP) {
                let plain = jws.verify_with(keys)?;
                timed(&plain, Some(settings.plugin_issuer.as_str()), settings, now)?
            } else {
                let plain = jws.verify_hs256(settings.secret.bytes())?;
                timed(&plain, None, settings, now)?
            }
        }
    };
    accept(payload, settings, session_token, now)
}

fn compact(value: &str, secret: &Secret, now: DateTime<Utc>) -> Result<Payload, CacheMiss> {
    let bytes = URL_SAFE_NO_PAD
        .decode(value)
        .map_err(|_| JoseError::Malformed)?;
    let outer: Compact<'_> = serde_json::from_slice(&bytes).map_err(|_| CacheMiss::Payload)?;
    let raw = outer.session.get();
    let body = raw
        .strip_suffix('}')
        .filter(|b| b.starts_with('{') && b.len() > 1)
        .ok_or(CacheMiss::Payload)?;
    let signature = URL_SAFE_NO_PAD
        .decode(&outer.signature)
        .map_err(|_| JoseError::Signature)?;
    let mut mac = secret.hmac_sha256();
    mac.update(body.as_bytes());
    mac.update(format!(",\"expiresAt\":{}}}", outer.expires_at).as_bytes());
    mac.verify_slice(&signature)
        .map_err(|_| JoseError::Signature)?;
    if outer.expires_at < now.timestamp_millis() {
        return Err(CacheMiss::Expired);
    }
    serde_json::from_str(raw).map_err(|_| CacheMiss::Payload)
}

fn timed(
    plain: &[u8],
    plugin_issuer: Option<&str>,
    settings: &CacheSettings,
    now: DateTime<Utc>,
) -> Result<Payload, CacheMiss> {
    let claims: TimedClaims = serde_json::from_slice(plain).map_err(|_| CacheMiss::Payload)?;
    check_times(claims.exp, claims.nbf, now, settings.leeway_seconds)
        .map_err(|_| CacheMiss::Expired)?;
    let payload: Payload = serde_json::from_slice(plain).map_err(|_| CacheMiss::Payload)?;
    if let Some(issuer) = plugin_issuer {
        let bound = claims.iss.as_deref() == Some(issuer)
            && audience_matches(claims.aud.as_ref(), PLUGIN_AUDIENCE)
            && claims.sub.as_deref() == Some(payload.user.id.as_str())
            && claims.sid.as_deref() == Some(payload.session.token.as_str());
        if !bound {
            return Err(CacheMiss::Invalid(JoseError::Signature));
        }
    }
    Ok(payload)
}

fn accept(
    payload: Payload,
    settings: &CacheSettings,
    session_token: &str,
    now: DateTime<Utc>,
) -> Result<SessionRecord, CacheMiss> {
    if payload.version.as_deref().unwrap_or("1") != settings.version {
        return Err(CacheMiss::Version);
    }
    if payload.session.expires_at <= now {
        return Err(CacheMiss::SessionExpired);
    }
    if !constant_time_eq(payload.session.token.as_bytes(), session_token.as_bytes())
        || payload.session.user_id != payload.user.id
    {
        return Err(CacheMiss::TokenMismatch);
    }
    Ok(payload.user.into_record(
        payload.session.id,
        payload.session.expires_at,
        payload.session.impersonated_by,
    ))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const SECRET: &str = "test-secret-0123456789abcdefghijklmnopqrstuvwxyz";

    fn settings(strategy: Strategy) -> CacheSettings {
        CacheSettings {
            strategy,
            version: "1".into(),
            secret: Secret::new(SECRET),
            jwe_keys: vec![JweKey::derive(SECRET.as_bytes(), JWE_SALT)],
            plugin_issuer: "better-auth:session-cache".into(),
            leeway_seconds: 0,
        }
    }

    // Written by Better Auth 1.7.25 (`setCookieCache`, compact strategy) for a session whose token
    // is TOKEN, at 2026-11-22T10:00:00Z; see tests/better-auth/vectors.mjs.
    const TOKEN: &str = "Vq1mW3pKx9TzR2bLc8NdY4sFh6JgQ0aE";
    const COMPACT: &str = "eyJzZXNzaW9uIjp7InNlc3Npb24iOnsiaWQiOiJzZXNzX3ZlY3RvciIsInRva2VuIjoiVnExbVczcEt4OVR6UjJiTGM4TmRZNHNGaDZKZ1EwYUUiLCJ1c2VySWQiOiJ1c2VyX3ZlY3RvciIsImV4cGlyZXNBdCI6IjIwMjYtMTEtMjlUMTA6MDA6MDAuMDAwWiIsImNyZWF0ZWRBdCI6IjIwMjYtMTEtMjJUMTA6MDA6MDAuMDAwWiIsInVwZGF0ZWRBdCI6IjIwMjYtMTEtMjJUMTA6MDA6MDAuMDAwWiIsImlwQWRkcmVzcyI6IiIsInVzZXJBZ2VudCI6IiIsImltcGVyc29uYXRlZEJ5IjpudWxsfSwidXNlciI6eyJpZCI6InVzZXJfdmVjdG9yIiwibmFtZSI6IlZlY3RvciIsImVtYWlsIjoidmVjdG9yQGV4YW1wbGUuY29tIiwiZW1haWxWZXJpZmllZCI6dHJ1ZSwiaW1hZ2UiOm51bGwsImNyZWF0ZWRBdCI6IjIwMjYtMTEtMjJUMTA6MDA6MDAuMDAwWiIsInVwZGF0ZWRBdCI6IjIwMjYtMTEtMjJUMTA6MDA6MDAuMDAwWiIsInJvbGUiOiJ1c2VyIiwiYmFubmVkIjpmYWxzZSwiYmFuUmVhc29uIjpudWxsLCJiYW5FeHBpcmVzIjpudWxsfSwidXBkYXRlZEF0IjoxNzk1MzQxNjAwMDAwLCJ2ZXJzaW9uIjoiMSJ9LCJleHBpcmVzQXQiOjE3OTUzNDE5MDAwMDAsInNpZ25hdHVyZSI6Im92c2dwNmNvb09ic3B5V0xJT0g3ZXRVN2g1TTF5VUdQM19fX2E1dVdkTU0ifQ";
    const HS256: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzZXNzaW9uIjp7ImlkIjoic2Vzc192ZWN0b3IiLCJ0b2tlbiI6IlZxMW1XM3BLeDlUelIyYkxjOE5kWTRzRmg2SmdRMGFFIiwidXNlcklkIjoidXNlcl92ZWN0b3IiLCJleHBpcmVzQXQiOiIyMDI2LTExLTI5VDEwOjAwOjAwLjAwMFoiLCJjcmVhdGVkQXQiOiIyMDI2LTExLTIyVDEwOjAwOjAwLjAwMFoiLCJ1cGRhdGVkQXQiOiIyMDI2LTExLTIyVDEwOjAwOjAwLjAwMFoiLCJpcEFkZHJlc3MiOiIiLCJ1c2VyQWdlbnQiOiIiLCJpbXBlcnNvbmF0ZWRCeSI6bnVsbH0sInVzZXIiOnsiaWQiOiJ1c2VyX3ZlY3RvciIsIm5hbWUiOiJWZWN0b3IiLCJlbWFpbCI6InZlY3RvckBleGFtcGxlLmNvbSIsImVtYWlsVmVyaWZpZWQiOnRydWUsImltYWdlIjpudWxsLCJjcmVhdGVkQXQiOiIyMDI2LTExLTIyVDEwOjAwOjAwLjAwMFoiLCJ1cGRhdGVkQXQiOiIyMDI2LTExLTIyVDEwOjAwOjAwLjAwMFoiLCJyb2xlIjoidXNlciIsImJhbm5lZCI6ZmFsc2UsImJhblJlYXNvbiI6bnVsbCwiYmFuRXhwaXJlcyI6bnVsbH0sInVwZGF0ZWRBdCI6MTc5NTM0MTYwMDAwMCwidmVyc2lvbiI6IjEiLCJpYXQiOjE3OTUzOTE5OTMsImV4cCI6MTc5NTM0MTkwMH0.Xgroeyqo-aGiSg_1e86vs-_NzolucMlVoiVEfPqvvK0";
    const JWE: &str = "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2Q0JDLUhTNTEyIiwia2lkIjoiZk9YcHV5ZV83VUxjZmZ5SE1SQlFmN05KeWFvbVNIRHZMLTVHdGlraVl5VSJ9..iHVxYZ5RjZy1qCZhzDZg9w.XxS3IFnXeb_Avg9dSI3w5UwKwS5dX7NUBnTM-MYh4CAAZmu0WSESngrAEMWKj7YCPuHzZ0_xKT2_PnYgXandCmnbeOgpMCOHta8k-MuepIjUFOdAoFeaIgvVU9COZoBA_EBgA-NEPnlsKyWGY6YAG90CWvsWUxfP1j0Wl-9yirDALcajJU3BUtEkX2mJp2w7bD5Wus-QRdtc0zHI7TEHx6N2Y8KrcQxrEZ2DalJYzQiL3Vk065qybbc6qTCC3wONGRVp1pdLF5S85AcjRzaxthn4wmyE8M0FR6ULmxjFfw7F7p7X-WVU7AQJMhshe0ICewXYUQ8Ixx9OlTVVivXEEuQgxkgLbR9u6yeo369IAszw54jy2mS-apE3PrHg3E-qsPKRxxUXKS1IyxSBGr8jN06tX8Z4dSJfl6gYPQZ7k7u-4GZRZRkwPu1HuNVrKDxZXWtyxtOBVzIcYxlt13ub5-hjpy4teqjdc9e7yDVCGOgeIAg5XX58SvMeCx3NiH7RHTji18-ZLxdosh7-bF4UsHB1GKRVUOimk5FqAtURsMFuA2I2fAr9rkZ97dPuu_H5YqDXvNFWy5H6qxckHtasTLX80_QpoDj7RLXzZKbEZseD2CrSaZZnGjHZYI8-dLDZr6QzmmlJmVLC9xfCMybxFZeGIf15wtLsIP3rFb9RmDuqoOPxDVnqp9aAlIlnhBMBKbI2Ld6c4rkcTGo1WwTi0aV_YecnQ8KsfQdTh-rC73uOV-A8h8khYCSsQqRMiSvOcgyBUY3wHzZdhD5SgXzmiGxog8-37_jzOtwFLOeIoRG1XSmSCpQVoB4Essm-mFFwRPp005IybPnkbSIyJ6zJnA.m5NZ-hb76AkyAGpbBv5Bql8nH2u76sTyCHpw2YH54uA";
    const WRITTEN_AT_MS: i64 = 1795341600000;

    fn at(ms: i64) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(ms).single().expect("time")
    }

    #[test]
    fn better_auth_vectors_decode_in_every_strategy() {
        let now = at(WRITTEN_AT_MS + 1000);
        for (strategy, value) in [
            (Strategy::Compact, COMPACT),
            (Strategy::Jwt, HS256),
            (Strategy::Jwe, JWE),
        ] {
            let record = decode(value, &settings(strategy), &KeySet::default(), TOKEN, now)
                .unwrap_or_else(|e| panic!("{strategy:?}: {e}"));
            assert_eq!(record.email, "vector@example.com", "{strategy:?}");
            assert_eq!(record.role.as_deref(), Some("user"), "{strategy:?}");
        }
    }

    #[test]
    fn expiry_version_and_token_are_enforced() {
        let fresh = at(WRITTEN_AT_MS + 1000);
        let stale = at(WRITTEN_AT_MS + 301_000);
        for (strategy, value) in [
            (Strategy::Compact, COMPACT),
            (Strategy::Jwt, HS256),
            (Strategy::Jwe, JWE),
        ] {
            let s = settings(strategy);
            let none = KeySet::default();
            assert_eq!(
                decode(value, &s, &none, TOKEN, stale).err(),
                Some(CacheMiss::Expired)
            );
            assert_eq!(
                decode(value, &s, &none, "someOtherToken0000000000000000000", fresh).err(),
                Some(CacheMiss::TokenMismatch)
            );
            let mut v2 = s.clone();
            v2.version = "2".into();
            assert_eq!(
                decode(value, &v2, &none, TOKEN, fresh).err(),
                Some(CacheMiss::Version)
            );
            let mut other = s.clone();
            other.secret = Secret::new("another-secret-0123456789abcdefghijklmn");
            other.jwe_keys = vec![JweKey::derive(
                b"another-secret-0123456789abcdefghijklmn",
                JWE_SALT,
            )];
            assert!(matches!(
                decode(value, &other, &none, TOKEN, fresh),
                Err(CacheMiss::Invalid(_))
            ));
        }
    }

    #[test]
    fn a_compact_cache_with_a_changed_field_fails_its_mac() {
        let json = String::from_utf8(URL_SAFE_NO_PAD.decode(COMPACT).expect("b64")).expect("utf8");
        let forged = json.replace("\"role\":\"user\"", "\"role\":\"admin\"");
        assert_ne!(forged, json);
        let value = URL_SAFE_NO_PAD.encode(forged);
        let now = at(WRITTEN_AT_MS + 1000);
        assert_eq!(
            decode(
                &value,
                &settings(Strategy::Compact),
                &KeySet::default(),
                TOKEN,
                now
            )
            .err(),
            Some(CacheMiss::Invalid(JoseError::Signature))
        );
        // Moving the outer expiry changes the signed text too.
        let later = json.replace(
            &format!("\"expiresAt\":{}", WRITTEN_AT_MS + 300_000),
            &format!("\"expiresAt\":{}", WRITTEN_AT_MS + 900_000),
        );
        assert_ne!(later, json);
        let value = URL_SAFE_NO_PAD.encode(later);
        assert_eq!(
            decode(
                &value,
                &settings(Strategy::Compact),
                &KeySet::default(),
                TOKEN,
                now
            )
            .err(),
            Some(CacheMiss::Invalid(JoseError::Signature))
        );
    }

    #[test]
    fn strategies_do_not_cross() {
        let now = at(WRITTEN_AT_MS + 1000);
        let none = KeySet::default();
        assert!(decode(HS256, &settings(Strategy::Compact), &none, TOKEN, now).is_err());
        assert!(decode(JWE, &settings(Strategy::Jwt), &none, TOKEN, now).is_err());
        assert!(decode(COMPACT, &settings(Strategy::Jwe), &none, TOKEN, now).is_err());
        assert_eq!(
            decode("", &settings(Strategy::Jwt), &none, TOKEN, now).err(),
            Some(CacheMiss::Absent)
        );
    }
}
