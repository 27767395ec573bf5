//! DPoP proofs (RFC 9449), checked as `@better-auth/core`'s `verifyDpopProof` checks them for a
//! resource request (`enforceDpopBinding`, 1.7): a compact JWS typed `dpop+jwt`, signed with an
//! asymmetric algorithm (EdDSA, ES256, ES512, PS256, RS256) by the public `jwk` of its header,
//! whose `htm`/`htu` are the request's method and URL (origin and path; query ignored, a
//! fragment refused), whose `iat` is at most 5 s ahead and [`DEFAULT_MAX_AGE_SECONDS`] old,
//! whose `ath` is the hash of the access token presented, and whose key's RFC 7638 thumbprint
//! is the token's `cnf.jkt`. Pure: the replay check (the `jti`, once) is the caller's, with the
//! [`Proof::replay_key`] computed here exactly as Better Auth computes its own.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::header::Algorithm;
use super::jwk::{Jwk, PublicKey, VerificationKey};
use super::jws::parse_jws;

/// The `typ` of a DPoP proof.
pub const PROOF_TYPE: &str = "dpop+jwt";
/// How old a proof may be (the provider's `dpop.proofMaxAgeSeconds` default).
pub const DEFAULT_MAX_AGE_SECONDS: i64 = 300;
/// How far ahead of our clock a proof's `iat` may be.
const FUTURE_SKEW_SECONDS: f64 = 5.0;
/// Longest `jti` (UTF-16 units, as Better Auth counts).
const MAX_JTI_LEN: usize = 512;
/// The algorithms a proof may use (Better Auth's `DPOP_SIGNING_ALGORITHMS`).
const ALGORITHMS: [&str; 5] = ["EdDSA", "ES256", "ES512", "PS256", "RS256"];
/// JWK members that carry private or symmetric key material.
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// Why a proof was refused. Every variant means "not authenticated".
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// Not a compact JWS, or its header or payload is not JSON.
    #[error("the DPoP proof is not a compact JWT")]
    Malformed,
    /// `typ` is not `dpop+jwt`.
    #[error("the DPoP proof's typ is not dpop+jwt")]
    Type,
    /// `none`, HMAC, or an algorithm not in the list.
    #[error("the DPoP proof's algorithm is not accepted")]
    Algorithm,
    /// No public `jwk` in the header, private material in it, or a key we cannot use.
    #[error("the DPoP proof's jwk is missing, private or unusable")]
    Key,
    /// The signature does not verify with the header's key.
    #[error("the DPoP proof's signature does not verify")]
    Signature,
    /// `htm`, `htu`, `jti` or `iat` missing (or a `jti` too long, an `exp`/`nbf` out of range).
    #[error("the DPoP proof lacks htm, htu, jti or iat")]
    Claims,
    /// `htm` is not the request's method.
    #[error("the DPoP proof is for another method")]
    Method,
    /// `htu` is not the request's URL.
    #[error("the DPoP proof is for another URL")]
    Url,
    /// `iat` too old or too far ahead.
    #[error("the DPoP proof's iat is outside the accepted window")]
    Age,
    /// `ath` absent or not the hash of the token presented.
    #[error("the DPoP proof's ath is not the access token's")]
    AccessTokenHash,
    /// The proof's key is not the one the token is bound to.
    #[error("the DPoP proof's key is not the token's")]
    KeyMismatch,
    /// Different `DPoP` header values: a request carries one proof (RFC 9449 §4.3).
    #[error("several different DPoP proofs")]
    Several,
}

impl ProofError {
    /// A stable short code for logs.
    pub fn code(self) -> &'static str {
        match self {
            Self::Malformed => "dpop_proof_malformed",
            Self::Type => "dpop_proof_type",
            Self::Algorithm => "dpop_proof_algorithm",
            Self::Key => "dpop_proof_key",
            Self::Signature => "dpop_proof_signature",
            Self::Claims => "dpop_proof_claims",
            Self::Method => "dpop_proof_method",
            Self::Url => "dpop_proof_url",
            Self::Age => "dpop_proof_age",
            Self::AccessTokenHash => "dpop_proof_ath",
            Self::KeyMismatch => "dpop_proof_key_mismatch",
            Self::Several => "dpop_proof_several",
        }
    }
}

/// The request a proof must be for.
#[derive(Debug, Clone, Copy)]
pub struct ProofRequest<'a> {
    /// The HTTP method, as the gateway saw it.
    pub method: &'a str,
    /// The URL, as the gateway saw it (`https://<host><path>`).
    pub url: &'a str,
    /// The access token presented with it (after `DPoP `).
    pub access_token: &'a str,
    /// The token's `cnf.jkt`.
    pub expected_jkt: &'a str,
    /// Now, in seconds since the epoch.
    pub now: i64,
    /// How old a proof may be, in seconds.
    pub max_age_seconds: i64,
}

/// A proof that holds, but for its `jti`: reserve [`Self::replay_key`] until
/// [`Self::expires_at_ms`] and refuse the request if it was reserved before.
///
/// `expires_at_ms` is the first instant the age check refuses the proof (the check compares
/// whole seconds): a reservation that lives that long outlives every acceptance of the proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    /// base64url SHA-256 of `jkt \n HTM \n htu \n jti` (Better Auth's `deriveDpopReplayKey`).
    pub replay_key: String,
    /// When the proof stops being accepted anyway, epoch ms: the second after
    /// `floor(iat + max_age)`, the last whole second the age check passes.
    pub expires_at_ms: i64,
}

/// The origin and path of `url` (WHATWG parsing, as Better Auth's `normalizeDpopHtu`); a
/// fragment is refused.
pub fn normalize_htu(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    if parsed.fragment().is_some() {
        return None;
    }
    Some(format!(
        "{}{}",
        parsed.origin().ascii_serialization(),
        parsed.path()
    ))
}

/// The RFC 7638 SHA-256 thumbprint of a public JWK (base64url), as `jose`'s
/// `calculateJwkThumbprint`: the required members only, in lexicographic order.
pub fn jwk_thumbprint(jwk: &serde_json::Map<String, Value>) -> Option<String> {
    let members: &[&str] = match jwk.get("kty")?.as_str()? {
        "EC" => &["crv", "kty", "x", "y"],
        "OKP" => &["crv", "kty", "x"],
        "RSA" => &["e", "kty", "n"],
        _ => return None,
    };
    let mut canonical = String::from("{");
    for (i, name) in members.iter().enumerate() {
        let value = jwk.get(*name)?.as_str()?;
        if i > 0 {
            canonical.push(',');
        }
        canonical.push_str(&serde_json::to_string(name).ok()?);
        canonical.push(':');
        canonical.push_str(&serde_json::to_string(value).ok()?);
    }
    canonical.push('}');
    Some(URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes())))
}

/// base64url SHA-256 of an access token (`ath`).
pub fn access_token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

fn string_claim<'a>(claims: &'a serde_json::Map<String, Value>, name: &str) -> Option<&'a str> {
    claims
        .get(name)
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty())
}

/// Checks `proof` for `request`. Pure: no clock but `request.now`, no I/O.
pub fn verify_proof(proof: &str, request: &ProofRequest<'_>) -> Result<Proof, ProofError> {
    let jws = parse_jws(proof).map_err(|_| ProofError::Malformed)?;
    if jws.header.typ.as_deref() != Some(PROOF_TYPE) {
        return Err(ProofError::Type);
    }
    if !ALGORITHMS.contains(&jws.header.alg.as_str()) {
        return Err(ProofError::Algorithm);
    }
    let alg = Algorithm::parse(&jws.header.alg).ok_or(ProofError::Algorithm)?;
    let jwk_value = match &jws.header.jwk {
        Some(Value::Object(map)) => map,
        _ => return Err(ProofError::Key),
    };
    if jwk_value.get("kty").and_then(Value::as_str) == Some("oct")
        || PRIVATE_MEMBERS.iter().any(|m| jwk_value.contains_key(*m))
    {
        return Err(ProofError::Key);
    }
    let jwk: Jwk =
        serde_json::from_value(Value::Object(jwk_value.clone())).map_err(|_| ProofError::Key)?;
    if jwk.alg.as_deref().is_some_and(|a| a != jws.header.alg) {
        return Err(ProofError::Algorithm);
    }
    let key = PublicKey::from_jwk(&jwk).map_err(|_| ProofError::Key)?;
    let key = VerificationKey::new(String::new(), alg, key).map_err(|_| ProofError::Algorithm)?;
    let payload = jws.verify(&key).map_err(|_| ProofError::Signature)?;
    let claims: serde_json::Map<String, Value> =
        serde_json::from_slice(&payload).map_err(|_| ProofError::Malformed)?;

    let now = request.now as f64;
    // `jose`'s jwtVerify: a present `exp`/`nbf`/`iat` must be a number, and `exp`/`nbf` hold.
    for name in ["exp", "nbf", "iat"] {
        if claims.get(name).is_some_and(|v| !v.is_number()) {
            return Err(ProofError::Claims);
        }
    }
    let number = |name: &str| claims.get(name).and_then(Value::as_f64);
    if number("exp").is_some_and(|exp| exp <= now) || number("nbf").is_some_and(|nbf| nbf > now) {
        return Err(ProofError::Claims);
    }
    let (Some(htm), Some(htu), Some(jti), Some(iat)) = (
        string_claim(&claims, "htm"),
        string_claim(&claims, "htu"),
        string_claim(&claims, "jti"),
        number("iat"),
    ) else {
        return Err(ProofError::Claims);
    };
    if jti.encode_utf16().count() > MAX_JTI_LEN {
        return Err(ProofError::Claims);
    }
    if !htm.eq_ignore_ascii_case(request.method) {
        return Err(ProofError::Method);
    }
    let url = normalize_htu(request.url).ok_or(ProofError::Url)?;
    if normalize_htu(htu).as_deref() != Some(url.as_str()) {
        return Err(ProofError::Url);
    }
    if iat > now + FUTURE_SKEW_SECONDS || now - iat > request.max_age_seconds as f64 {
        return Err(ProofError::Age);
    }
    if string_claim(&claims, "ath") != Some(access_token_hash(request.access_token).as_str()) {
        return Err(ProofError::AccessTokenHash);
    }
    let jkt = jwk_thumbprint(jwk_value).ok_or(ProofError::Key)?;
    if jkt != request.expected_jkt {
        return Err(ProofError::KeyMismatch);
    }
    let replay_input = format!("{jkt}\n{}\n{url}\n{jti}", htm.to_ascii_uppercase());
    Ok(Proof {
        replay_key: URL_SAFE_NO_PAD.encode(Sha256::digest(replay_input.as_bytes())),
        expires_at_ms: ((iat + request.max_age_seconds as f64).floor() as i64 + 1) * 1000,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};
    use serde_json::json;

    const URL: &str = "https://api.example.com/prod/orders";
    const TOKEN: &str = "bao_the-access-token";
    const NOW: i64 = 1_800_000_000;

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[7; 32])
    }

    fn public_jwk(key: &SigningKey) -> Value {
        json!({"kty": "OKP", "crv": "Ed25519",
               "x": URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes())})
    }

    fn sign(key: &SigningKey, header: Value, claims: Value) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = key.sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
    }

    fn claims() -> Value {
        json!({"htm": "GET", "htu": URL, "jti": "j1", "iat": NOW,
               "ath": access_token_hash(TOKEN)})
    }

    fn header(key: &SigningKey) -> Value {
        json!({"typ": "dpop+jwt", "alg": "EdDSA", "jwk": public_jwk(key)})
    }

    fn thumbprint(key: &SigningKey) -> String {
        jwk_thumbprint(public_jwk(key).as_object().expect("object")).expect("thumbprint")
    }

    fn check(proof: &str, method: &str, url: &str) -> Result<Proof, ProofError> {
        let jkt = thumbprint(&key());
        verify_proof(
            proof,
            &ProofRequest {
                method,
                url,
                access_token: TOKEN,
                expected_jkt: &jkt,
                now: NOW,
                max_age_seconds: DEFAULT_MAX_AGE_SECONDS,
            },
        )
    }

    #[test]
    fn okp_and_ec_thumbprints() {
        // RFC 8037 appendix A.3.
        let okp = json!({"kty": "OKP", "crv": "Ed25519",
                         "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"});
        assert_eq!(
            jwk_thumbprint(okp.as_object().expect("object")).as_deref(),
            Some("kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k")
        );
        // EC: the members in order crv, kty, x, y, whatever order the JWK has them in.
        let ec = json!({"y": "Y", "x": "X", "kty": "EC", "crv": "P-256", "kid": "ignored"});
        let canonical = r#"{"crv":"P-256","kty":"EC","x":"X","y":"Y"}"#;
        assert_eq!(
            jwk_thumbprint(ec.as_object().expect("object")),
            Some(URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes())))
        );
        // A member missing, or not a string: no thumbprint.
        assert_eq!(
            jwk_thumbprint(
                json!({"kty": "EC", "crv": "P-256", "x": "X"})
                    .as_object()
                    .expect("object")
            ),
            None
        );
        assert_eq!(
            jwk_thumbprint(
                json!({"kty": "OKP", "crv": "Ed25519", "x": 5})
                    .as_object()
                    .expect("object")
            ),
            None
        );
    }

    #[test]
    fn rfc7638_thumbprint_vector() {
        // RFC 7638 §3.1.
        let jwk = json!({
            "kty": "RSA", "e": "AQAB", "alg": "RS256", "kid": "2011-04-29",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        });
        assert_eq!(
            jwk_thumbprint(jwk.as_object().expect("object")).as_deref(),
            Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        );
    }

    #[test]
    fn a_proof_for_this_request_holds_once_per_replay_key() {
        let proof = sign(&key(), header(&key()), claims());
        let checked = check(&proof, "GET", URL).expect("valid");
        // Accepted up to and including the whole second NOW + 300: reserved past its end.
        assert_eq!(checked.expires_at_ms, (NOW + 301) * 1000);
        // The query is ignored; method case too; the same jti has the same replay key.
        let again = check(&proof, "get", &format!("{URL}?page=2")).expect("valid");
        assert_eq!(again.replay_key, checked.replay_key);
        // Scheme and host case and a default port normalise as WHATWG URLs do.
        assert!(check(&proof, "GET", "HTTPS://API.example.com:443/prod/orders").is_ok());
    }

    #[test]
    fn every_rule_refuses_on_its_own() {
        let k = key();
        let with = |change: &dyn Fn(&mut Value, &mut Value)| {
            let (mut h, mut c) = (header(&k), claims());
            change(&mut h, &mut c);
            sign(&k, h, c)
        };
        let cases: Vec<(&str, String, ProofError)> = vec![
            (
                "typ",
                with(&|h, _| h["typ"] = json!("JWT")),
                ProofError::Type,
            ),
            (
                "alg none",
                with(&|h, _| h["alg"] = json!("none")),
                ProofError::Algorithm,
            ),
            (
                "alg alias",
                with(&|h, _| h["alg"] = json!("Ed25519")),
                ProofError::Algorithm,
            ),
            (
                "HS256",
                with(&|h, _| h["alg"] = json!("HS256")),
                ProofError::Algorithm,
            ),
            (
                "no jwk",
                with(&|h, _| {
                    h.as_object_mut().map(|o| o.remove("jwk"));
                }),
                ProofError::Key,
            ),
            (
                "private jwk",
                with(&|h, _| h["jwk"]["d"] = json!("AAAA")),
                ProofError::Key,
            ),
            (
                "oct jwk",
                with(&|h, _| h["jwk"] = json!({"kty": "oct", "k": "AAAA"})),
                ProofError::Key,
            ),
            (
                "no htm",
                with(&|_, c| {
                    c.as_object_mut().map(|o| o.remove("htm"));
                }),
                ProofError::Claims,
            ),
            (
                "no jti",
                with(&|_, c| c["jti"] = json!("")),
                ProofError::Claims,
            ),
            (
                "iat as text",
                with(&|_, c| c["iat"] = json!("1800000000")),
                ProofError::Claims,
            ),
            (
                "long jti",
                with(&|_, c| c["jti"] = json!("j".repeat(513))),
                ProofError::Claims,
            ),
            (
                "expired exp",
                with(&|_, c| c["exp"] = json!(NOW - 1)),
                ProofError::Claims,
            ),
            (
                "method",
                with(&|_, c| c["htm"] = json!("POST")),
                ProofError::Method,
            ),
            (
                "path",
                with(&|_, c| c["htu"] = json!("https://api.example.com/prod/orders/1")),
                ProofError::Url,
            ),
            (
                "host",
                with(&|_, c| c["htu"] = json!("https://evil.example.com/prod/orders")),
                ProofError::Url,
            ),
            (
                "scheme",
                with(&|_, c| c["htu"] = json!("http://api.example.com/prod/orders")),
                ProofError::Url,
            ),
            (
                "fragment",
                with(&|_, c| c["htu"] = json!(format!("{URL}#x"))),
                ProofError::Url,
            ),
            (
                "old",
                with(&|_, c| c["iat"] = json!(NOW - 301)),
                ProofError::Age,
            ),
            (
                "ahead",
                with(&|_, c| c["iat"] = json!(NOW + 6)),
                ProofError::Age,
            ),
            (
                "no ath",
                with(&|_, c| {
                    c.as_object_mut().map(|o| o.remove("ath"));
                }),
                ProofError::AccessTokenHash,
            ),
            (
                "another token's ath",
                with(&|_, c| c["ath"] = json!(access_token_hash("other"))),
                ProofError::AccessTokenHash,
            ),
        ];
        for (case, proof, expected) in cases {
            assert_eq!(check(&proof, "GET", URL), Err(expected), "{case}");
        }
        // Limits hold at their edges.
        assert!(check(&with(&|_, c| c["iat"] = json!(NOW - 300)), "GET", URL).is_ok());
        assert!(check(&with(&|_, c| c["iat"] = json!(NOW + 5)), "GET", URL).is_ok());
        // Signed by another key than the header's, and a valid proof by another key.
        let stranger = SigningKey::from_bytes(&[9; 32]);
        assert_eq!(
            check(&sign(&stranger, header(&k), claims()), "GET", URL),
            Err(ProofError::Signature)
        );
        assert_eq!(
            check(&sign(&stranger, header(&stranger), claims()), "GET", URL),
            Err(ProofError::KeyMismatch)
        );
        assert_eq!(check("a.b", "GET", URL), Err(ProofError::Malformed));
    }
}
