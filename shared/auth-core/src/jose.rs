//! The part of JOSE that Better Auth uses, as pure functions: compact JWS verification (EdDSA,
//! ES256, ES512, RS256, PS256 with public keys; HS256 with a shared secret) and compact JWE
//! decryption (`dir` + `A256CBC-HS512`).
//!
//! Every cryptographic primitive comes from the RustCrypto crates (`ed25519-dalek`, `p256`,
//! `p521`, `rsa`, `hmac`, `aes`, `cbc`, `hkdf`); only the compact-serialization glue is written
//! here, because no maintained pure-Rust JOSE crate covers ES512 and this JWE combination.
//!
//! Algorithm confusion is impossible by construction: a key is bound to one algorithm when it is
//! loaded ([`VerificationKey::new`] refuses a mismatch), a token's `alg` must equal it, `none` and
//! the HMAC algorithms are never accepted with a public key, and HS256 is only ever checked by
//! [`verify_hs256`] against the shared secret.

use aes::cipher::{BlockDecryptMut, KeyIvInit, block_padding::Pkcs7};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::{Digest, Sha256, Sha512};

/// Longest compact JWS/JWE we look at.
pub const MAX_COMPACT_LEN: usize = 64 * 1024;
/// Smallest RSA modulus we accept, in bits.
pub const MIN_RSA_BITS: usize = 2048;

/// A JWS algorithm accepted with a public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// Ed25519 (Better Auth's default).
    EdDSA,
    /// ECDSA P-256 with SHA-256.
    ES256,
    /// ECDSA P-521 with SHA-512.
    ES512,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PSS with SHA-256.
    PS256,
}

impl Algorithm {
    /// The JOSE name's algorithm, when it is one we accept with a public key.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "EdDSA" | "Ed25519" => Self::EdDSA,
            "ES256" => Self::ES256,
            "ES512" => Self::ES512,
            "RS256" => Self::RS256,
            "PS256" => Self::PS256,
            _ => return None,
        })
    }

    /// The JOSE name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EdDSA => "EdDSA",
            Self::ES256 => "ES256",
            Self::ES512 => "ES512",
            Self::RS256 => "RS256",
            Self::PS256 => "PS256",
        }
    }
}

/// Why a compact JOSE value was refused. Every variant means "not authenticated".
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JoseError {
    /// Not a well-formed compact JWS/JWE (segments, base64url, JSON, length).
    #[error("malformed")]
    Malformed,
    /// `none`, an HMAC algorithm where a public key is expected, an algorithm other than the
    /// key's, an unsupported `crit` or `zip`, or an unsupported JWE `alg`/`enc`.
    #[error("algorithm not accepted")]
    Algorithm,
    /// The `kid` names no key we have (or there is no `kid`).
    #[error("unknown key")]
    UnknownKey,
    /// The signature or authentication tag does not verify.
    #[error("bad signature")]
    Signature,
    /// A JWK we cannot use (wrong type or curve, bad coordinates, RSA below 2048 bits).
    #[error("unusable key")]
    Key,
}

/// The protected header fields we read.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Header {
    /// `alg`.
    pub alg: String,
    /// `kid`.
    #[serde(default)]
    pub kid: Option<String>,
    /// `typ`.
    #[serde(default)]
    pub typ: Option<String>,
    /// `enc` (JWE).
    #[serde(default)]
    pub enc: Option<String>,
    /// `crit`: we understand no extension, so its presence refuses the token (RFC 7515 §4.1.11).
    #[serde(default)]
    pub crit: Option<serde_json::Value>,
    /// `zip` (JWE): compression is refused.
    #[serde(default)]
    pub zip: Option<serde_json::Value>,
}

/// A public JSON Web Key, as Better Auth stores it in `jwks.publicKey` and serves it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Jwk {
    /// `OKP`, `EC` or `RSA`.
    pub kty: String,
    /// `Ed25519`, `P-256`, `P-521`.
    #[serde(default)]
    pub crv: Option<String>,
    /// OKP/EC x coordinate.
    #[serde(default)]
    pub x: Option<String>,
    /// EC y coordinate.
    #[serde(default)]
    pub y: Option<String>,
    /// RSA modulus.
    #[serde(default)]
    pub n: Option<String>,
    /// RSA exponent.
    #[serde(default)]
    pub e: Option<String>,
    /// `alg`, when the key names one.
    #[serde(default)]
    pub alg: Option<String>,
    /// `kid`, when served by a JWKS endpoint.
    #[serde(default)]
    pub kid: Option<String>,
    /// Private parts must never be here; their presence refuses the key.
    #[serde(default)]
    pub d: Option<String>,
}

/// A public key of one of the supported types.
#[derive(Clone)]
pub enum PublicKey {
    /// Ed25519.
    Ed25519(ed25519_dalek::VerifyingKey),
    /// P-256.
    P256(p256::ecdsa::VerifyingKey),
    /// P-521.
    P521(p521::ecdsa::VerifyingKey),
    /// RSA (at least 2048 bits).
    Rsa(rsa::RsaPublicKey),
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Ed25519(_) => "PublicKey::Ed25519",
            Self::P256(_) => "PublicKey::P256",
            Self::P521(_) => "PublicKey::P521",
            Self::Rsa(_) => "PublicKey::Rsa",
        })
    }
}

fn b64(value: &str) -> Result<Vec<u8>, JoseError> {
    URL_SAFE_NO_PAD
        .decode(value)
        .map_err(|_| JoseError::Malformed)
}

fn b64_field(value: Option<&String>) -> Result<Vec<u8>, JoseError> {
    b64(value.ok_or(JoseError::Key)?).map_err(|_| JoseError::Key)
}

impl PublicKey {
    /// Imports a public JWK. Refuses private keys and anything but OKP/Ed25519, EC P-256/P-521
    /// and RSA of at least 2048 bits.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, JoseError> {
        if jwk.d.is_some() {
            return Err(JoseError::Key);
        }
        match (jwk.kty.as_str(), jwk.crv.as_deref()) {
            ("OKP", Some("Ed25519")) => {
                let x: [u8; 32] = b64_field(jwk.x.as_ref())?
                    .try_into()
                    .map_err(|_| JoseError::Key)?;
                ed25519_dalek::VerifyingKey::from_bytes(&x)
                    .map(Self::Ed25519)
                    .map_err(|_| JoseError::Key)
            }
            ("EC", Some("P-256")) => {
                let point = ec_point(jwk, 32)?;
                p256::ecdsa::VerifyingKey::from_sec1_bytes(&point)
                    .map(Self::P256)
                    .map_err(|_| JoseError::Key)
            }
            ("EC", Some("P-521")) => {
                let point = ec_point(jwk, 66)?;
                p521::ecdsa::VerifyingKey::from_sec1_bytes(&point)
                    .map(Self::P521)
                    .map_err(|_| JoseError::Key)
            }
            ("RSA", _) => {
                let n = rsa::BigUint::from_bytes_be(&b64_field(jwk.n.as_ref())?);
                let e = rsa::BigUint::from_bytes_be(&b64_field(jwk.e.as_ref())?);
                let key = rsa::RsaPublicKey::new(n, e).map_err(|_| JoseError::Key)?;
                if rsa::traits::PublicKeyParts::size(&key) * 8 < MIN_RSA_BITS {
                    return Err(JoseError::Key);
                }
                Ok(Self::Rsa(key))
            }
            _ => Err(JoseError::Key),
        }
    }

    /// Whether this key can verify `alg`.
    pub fn fits(&self, alg: Algorithm) -> bool {
        matches!(
            (self, alg),
            (Self::Ed25519(_), Algorithm::EdDSA)
                | (Self::P256(_), Algorithm::ES256)
                | (Self::P521(_), Algorithm::ES512)
                | (Self::Rsa(_), Algorithm::RS256 | Algorithm::PS256)
        )
    }
}

/// Uncompressed SEC1 point `04 || x || y` from a JWK's coordinates of `len` bytes each.
fn ec_point(jwk: &Jwk, len: usize) -> Result<Vec<u8>, JoseError> {
    let x = b64_field(jwk.x.as_ref())?;
    let y = b64_field(jwk.y.as_ref())?;
    if x.len() != len || y.len() != len {
        return Err(JoseError::Key);
    }
    let mut point = Vec::with_capacity(1 + 2 * len);
    point.push(4);
    point.extend_from_slice(&x);
    point.extend_from_slice(&y);
    Ok(point)
}

/// A public key bound to its `kid` and to exactly one algorithm.
#[derive(Debug, Clone)]
pub struct VerificationKey {
    /// The key id (`jwks.id` in Better Auth's table).
    pub kid: String,
    /// The only algorithm this key verifies.
    pub alg: Algorithm,
    key: PublicKey,
}

impl VerificationKey {
    /// Binds `key` to `alg`; refuses a key that cannot verify it.
    pub fn new(kid: String, alg: Algorithm, key: PublicKey) -> Result<Self, JoseError> {
        if !key.fits(alg) {
            return Err(JoseError::Algorithm);
        }
        Ok(Self { kid, alg, key })
    }

    /// Reads one key as Better Auth stores it: the JWK JSON text (`jwks.publicKey`), the row's
    /// `alg` column (or the JWK's own `alg`, or `default_alg` for rows from before the column).
    pub fn from_stored(
        kid: &str,
        alg: Option<&str>,
        public_key_json: &str,
        default_alg: Algorithm,
    ) -> Result<Self, JoseError> {
        let jwk: Jwk = serde_json::from_str(public_key_json).map_err(|_| JoseError::Key)?;
        let alg = match alg.or(jwk.alg.as_deref()) {
            Some(name) => Algorithm::parse(name).ok_or(JoseError::Algorithm)?,
            None => default_alg,
        };
        Self::new(kid.to_owned(), alg, PublicKey::from_jwk(&jwk)?)
    }

    /// Verifies `signature` over `message` with this key and its algorithm.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), JoseError> {
        use signature_traits::Verifier as _;
        let bad = |_| JoseError::Signature;
        match (&self.key, self.alg) {
            (PublicKey::Ed25519(key), Algorithm::EdDSA) => {
                let signature = ed25519_dalek::Signature::from_slice(signature)
                    .map_err(|_| JoseError::Signature)?;
                key.verify_strict(message, &signature).map_err(bad)
            }
            (PublicKey::P256(key), Algorithm::ES256) => {
                let signature = p256::ecdsa::Signature::from_slice(signature)
                    .map_err(|_| JoseError::Signature)?;
                key.verify(message, &signature).map_err(bad)
            }
            (PublicKey::P521(key), Algorithm::ES512) => {
                let signature = p521::ecdsa::Signature::from_slice(signature)
                    .map_err(|_| JoseError::Signature)?;
                key.verify(message, &signature).map_err(bad)
            }
            (PublicKey::Rsa(key), Algorithm::RS256) => {
                let signature = rsa::pkcs1v15::Signature::try_from(signature)
                    .map_err(|_| JoseError::Signature)?;
                rsa::pkcs1v15::VerifyingKey::<Sha256>::new(key.clone())
                    .verify(message, &signature)
                    .map_err(bad)
            }
            (PublicKey::Rsa(key), Algorithm::PS256) => {
                let signature =
                    rsa::pss::Signature::try_from(signature).map_err(|_| JoseError::Signature)?;
                rsa::pss::VerifyingKey::<Sha256>::new(key.clone())
                    .verify(message, &signature)
                    .map_err(bad)
            }
            _ => Err(JoseError::Algorithm),
        }
    }
}

mod signature_traits {
    pub use ed25519_dalek::Verifier;
}

/// The keys a service trusts, by `kid`.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: Vec<VerificationKey>,
}

impl KeySet {
    /// A set of keys.
    pub fn new(keys: Vec<VerificationKey>) -> Self {
        Self { keys }
    }

    /// The key with this `kid`.
    pub fn find(&self, kid: &str) -> Option<&VerificationKey> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    /// How many keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key ids.
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|k| k.kid.as_str())
    }
}

/// A parsed, not yet verified, compact JWS.
#[derive(Debug)]
pub struct Jws<'a> {
    /// The protected header.
    pub header: Header,
    signing_input: &'a str,
    payload: &'a str,
    signature: Vec<u8>,
}

/// True when `value` has the shape of a compact JWS: three base64url segments (two dots; a
/// signed session token has one). Decodes and verifies nothing: [`parse_jws`] does, once.
pub fn looks_like_jws(value: &str) -> bool {
    value.len() <= MAX_COMPACT_LEN
        && value.bytes().filter(|b| *b == b'.').count() == 2
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

fn header_of(segment: &str) -> Result<Header, JoseError> {
    let header: Header =
        serde_json::from_slice(&b64(segment)?).map_err(|_| JoseError::Malformed)?;
    if header.crit.is_some() || header.zip.is_some() {
        return Err(JoseError::Algorithm);
    }
    Ok(header)
}

/// Splits and decodes a compact JWS (header and signature; the payload is decoded on demand).
pub fn parse_jws(token: &str) -> Result<Jws<'_>, JoseError> {
    if token.len() > MAX_COMPACT_LEN {
        return Err(JoseError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JoseError::Malformed);
    };
    let header_decoded = header_of(header)?;
    let signing_input = &token[..header.len() + 1 + payload.len()];
    Ok(Jws {
        header: header_decoded,
        signing_input,
        payload,
        signature: b64(signature)?,
    })
}

impl Jws<'_> {
    /// Verifies the signature with `key`, whose algorithm the header must name exactly; returns
    /// the payload bytes.
    pub fn verify(&self, key: &VerificationKey) -> Result<Vec<u8>, JoseError> {
        if Algorithm::parse(&self.header.alg) != Some(key.alg) {
            return Err(JoseError::Algorithm);
        }
        key.verify(self.signing_input.as_bytes(), &self.signature)?;
        b64(self.payload)
    }

    /// Verifies the signature against the key named by `kid` in `keys`.
    pub fn verify_with(&self, keys: &KeySet) -> Result<Vec<u8>, JoseError> {
        let kid = self.header.kid.as_deref().ok_or(JoseError::UnknownKey)?;
        self.verify(keys.find(kid).ok_or(JoseError::UnknownKey)?)
    }

    /// Verifies an HS256 signature keyed with `secret` (Better Auth's cookie-cache `jwt`
    /// strategy); any other `alg` is refused.
    pub fn verify_hs256(&self, secret: &[u8]) -> Result<Vec<u8>, JoseError> {
        if self.header.alg != "HS256" {
            return Err(JoseError::Algorithm);
        }
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|_| JoseError::Key)?;
        mac.update(self.signing_input.as_bytes());
        mac.verify_slice(&self.signature)
            .map_err(|_| JoseError::Signature)?;
        b64(self.payload)
    }
}

/// Verifies a compact HS256 JWS with `secret`; returns the payload bytes.
pub fn verify_hs256(token: &str, secret: &[u8]) -> Result<Vec<u8>, JoseError> {
    parse_jws(token)?.verify_hs256(secret)
}

/// The 64-byte `A256CBC-HS512` key Better Auth derives from its secret for a purpose (`salt`):
/// HKDF-SHA256, info "BetterAuth.js Generated Encryption Key".
pub fn derive_jwe_key(secret: &[u8], salt: &str) -> [u8; 64] {
    let hkdf = hkdf::Hkdf::<Sha256>::new(Some(salt.as_bytes()), secret);
    let mut key = [0u8; 64];
    // 64 bytes is far below HKDF-SHA256's 8160-byte limit, so this cannot fail.
    let _ = hkdf.expand(b"BetterAuth.js Generated Encryption Key", &mut key);
    key
}

/// The RFC 7638 thumbprint of a symmetric key, which Better Auth puts in the JWE `kid`.
pub fn oct_thumbprint(key: &[u8]) -> String {
    let canonical = format!(r#"{{"k":"{}","kty":"oct"}}"#, URL_SAFE_NO_PAD.encode(key));
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// A JWE content key and its thumbprint.
#[derive(Clone)]
pub struct JweKey {
    key: [u8; 64],
    kid: String,
}

impl std::fmt::Debug for JweKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JweKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl JweKey {
    /// Derives the key for `secret` and `salt` as Better Auth does.
    pub fn derive(secret: &[u8], salt: &str) -> Self {
        let key = derive_jwe_key(secret, salt);
        let kid = oct_thumbprint(&key);
        Self { key, kid }
    }

    /// The thumbprint.
    pub fn kid(&self) -> &str {
        &self.kid
    }
}

/// Decrypts a compact JWE made with `alg: dir`, `enc: A256CBC-HS512` (RFC 7516, RFC 7518
/// §5.2.5). With a `kid`, only the key with that thumbprint is tried; without, each in turn.
pub fn decrypt_dir(token: &str, keys: &[JweKey]) -> Result<Vec<u8>, JoseError> {
    if token.len() > MAX_COMPACT_LEN {
        return Err(JoseError::Malformed);
    }
    let parts: Vec<&str> = token.split('.').collect();
    let [header_b64, encrypted_key, iv, ciphertext, tag] = parts[..] else {
        return Err(JoseError::Malformed);
    };
    let header = header_of(header_b64)?;
    if header.alg != "dir" || header.enc.as_deref() != Some("A256CBC-HS512") {
        return Err(JoseError::Algorithm);
    }
    if !encrypted_key.is_empty() {
        return Err(JoseError::Malformed);
    }
    let iv = b64(iv)?;
    let ciphertext = b64(ciphertext)?;
    let tag = b64(tag)?;
    if iv.len() != 16 || tag.len() != 32 || ciphertext.is_empty() || ciphertext.len() % 16 != 0 {
        return Err(JoseError::Malformed);
    }
    let candidates: Vec<&JweKey> = match header.kid.as_deref() {
        Some(kid) => keys.iter().filter(|k| k.kid == kid).collect(),
        None => keys.iter().collect(),
    };
    if candidates.is_empty() {
        return Err(JoseError::UnknownKey);
    }
    let aad = header_b64.as_bytes();
    let aad_bits = (aad.len() as u64).wrapping_mul(8).to_be_bytes();
    for candidate in candidates {
        let (mac_key, enc_key) = candidate.key.split_at(32);
        let Ok(mut mac) = Hmac::<Sha512>::new_from_slice(mac_key) else {
            continue;
        };
        mac.update(aad);
        mac.update(&iv);
        mac.update(&ciphertext);
        mac.update(&aad_bits);
        if mac.verify_truncated_left(&tag).is_err() {
            continue;
        }
        let decryptor = cbc::Decryptor::<aes::Aes256>::new_from_slices(enc_key, &iv)
            .map_err(|_| JoseError::Key)?;
        return decryptor
            .decrypt_padded_vec_mut::<Pkcs7>(&ciphertext)
            .map_err(|_| JoseError::Signature);
    }
    Err(JoseError::Signature)
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 8037 appendix A: the Ed25519 key and the JWS of "Example of Ed25519 signing".
    const RFC8037_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
    const RFC8037_JWS: &str = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

    fn rfc8037_key(kid: &str) -> VerificationKey {
        let jwk = Jwk {
            kty: "OKP".into(),
            crv: Some("Ed25519".into()),
            x: Some(RFC8037_X.into()),
            ..Jwk::default()
        };
        VerificationKey::new(
            kid.into(),
            Algorithm::EdDSA,
            PublicKey::from_jwk(&jwk).expect("key"),
        )
        .expect("fits")
    }

    #[test]
    fn rfc8037_ed25519_vector_verifies() {
        let key = rfc8037_key("k");
        let payload = parse_jws(RFC8037_JWS)
            .expect("parse")
            .verify(&key)
            .expect("verify");
        assert_eq!(payload, b"Example of Ed25519 signing");
    }

    #[test]
    fn a_changed_payload_or_signature_fails() {
        let key = rfc8037_key("k");
        let tampered = RFC8037_JWS.replacen(".RXhh", ".RXha", 1);
        assert_eq!(
            parse_jws(&tampered).expect("parse").verify(&key),
            Err(JoseError::Signature)
        );
        let sig_flipped = RFC8037_JWS.replace(".hgyY", ".hgyZ");
        assert_eq!(
            parse_jws(&sig_flipped).expect("parse").verify(&key),
            Err(JoseError::Signature)
        );
    }

    #[test]
    fn the_kid_must_name_a_key() {
        let keys = KeySet::new(vec![rfc8037_key("k")]);
        // RFC 8037's header has no kid.
        assert_eq!(
            parse_jws(RFC8037_JWS).expect("parse").verify_with(&keys),
            Err(JoseError::UnknownKey)
        );
    }

    fn token_with_header(header: &str, payload: &str, signature: &[u8]) -> String {
        format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(payload),
            URL_SAFE_NO_PAD.encode(signature)
        )
    }

    #[test]
    fn none_and_hmac_are_refused_with_a_public_key() {
        let key = rfc8037_key("k");
        let none = token_with_header(r#"{"alg":"none","kid":"k"}"#, "{}", b"");
        assert_eq!(
            parse_jws(&none).expect("parse").verify(&key),
            Err(JoseError::Algorithm)
        );
        // Algorithm confusion: an HS256 MAC keyed with the public key's bytes.
        let x = URL_SAFE_NO_PAD.decode(RFC8037_X).expect("x");
        let unsigned = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","kid":"k"}"#),
            URL_SAFE_NO_PAD.encode("{}")
        );
        let mut mac = Hmac::<Sha256>::new_from_slice(&x).expect("mac");
        mac.update(unsigned.as_bytes());
        let confused = format!(
            "{unsigned}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        );
        assert_eq!(
            parse_jws(&confused).expect("parse").verify(&key),
            Err(JoseError::Algorithm)
        );
        // And a key can never be bound to an algorithm of another type.
        let rsa_for_ed = VerificationKey::new("k".into(), Algorithm::RS256, key.key.clone());
        assert_eq!(rsa_for_ed.err(), Some(JoseError::Algorithm));
    }

    #[test]
    fn crit_and_malformed_values_are_refused() {
        let crit = token_with_header(r#"{"alg":"EdDSA","crit":["exp"]}"#, "{}", b"x");
        assert_eq!(parse_jws(&crit).err(), Some(JoseError::Algorithm));
        for bad in ["", "a.b", "a.b.c.d", "!!.e30.e30", "e30.e30.!!"] {
            assert!(parse_jws(bad).is_err(), "{bad}");
            assert!(!looks_like_jws(bad), "{bad}");
        }
        // The shape alone is enough to route a bearer to JWT verification, which refuses it.
        assert!(looks_like_jws("a.b.c") && parse_jws("a.b.c").is_err());
        assert!(looks_like_jws(RFC8037_JWS));
        assert!(!looks_like_jws("16wdRQ2r5xE3DyCPTsx4SQXF5yuasMk1.c2ln"));
    }

    #[test]
    fn private_and_weak_keys_are_refused() {
        let private = Jwk {
            kty: "OKP".into(),
            crv: Some("Ed25519".into()),
            x: Some(RFC8037_X.into()),
            d: Some("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A".into()),
            ..Jwk::default()
        };
        assert_eq!(PublicKey::from_jwk(&private).err(), Some(JoseError::Key));
        let small_rsa = Jwk {
            kty: "RSA".into(),
            n: Some(URL_SAFE_NO_PAD.encode([0xC5u8; 128])),
            e: Some("AQAB".into()),
            ..Jwk::default()
        };
        assert_eq!(PublicKey::from_jwk(&small_rsa).err(), Some(JoseError::Key));
        let unknown_curve = Jwk {
            kty: "EC".into(),
            crv: Some("secp256k1".into()),
            ..Jwk::default()
        };
        assert_eq!(
            PublicKey::from_jwk(&unknown_curve).err(),
            Some(JoseError::Key)
        );
    }

    #[test]
    fn hs256_verifies_only_hs256() {
        let unsigned = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256"}"#),
            URL_SAFE_NO_PAD.encode(r#"{"a":1}"#)
        );
        let mut mac = Hmac::<Sha256>::new_from_slice(b"secret").expect("mac");
        mac.update(unsigned.as_bytes());
        let token = format!(
            "{unsigned}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        );
        assert_eq!(verify_hs256(&token, b"secret").expect("ok"), br#"{"a":1}"#);
        assert_eq!(verify_hs256(&token, b"other"), Err(JoseError::Signature));
        assert_eq!(
            verify_hs256(RFC8037_JWS, b"secret"),
            Err(JoseError::Algorithm)
        );
    }

    #[test]
    fn jwe_keys_match_better_auth() {
        // Derived by Better Auth 1.7 (`deriveEncryptionSecret` + jose's `calculateJwkThumbprint`)
        // for the secret below and the cookie cache's salt.
        let key = JweKey::derive(
            b"test-secret-0123456789abcdefghijklmnopqrstuvwxyz",
            "better-auth-session",
        );
        assert_eq!(key.kid(), JWE_VECTOR_KID);
        let plain = decrypt_dir(JWE_VECTOR, std::slice::from_ref(&key)).expect("decrypt");
        let claims: serde_json::Value = serde_json::from_slice(&plain).expect("json");
        assert_eq!(claims["hello"], "world");
        let other = JweKey::derive(
            b"another-secret-0123456789abcdefghijklmn",
            "better-auth-session",
        );
        assert_eq!(
            decrypt_dir(JWE_VECTOR, &[other]),
            Err(JoseError::UnknownKey)
        );
        let mut tampered = JWE_VECTOR.to_owned();
        let last = tampered.pop().expect("char");
        tampered.push(if last == 'A' { 'B' } else { 'A' });
        assert_eq!(decrypt_dir(&tampered, &[key]), Err(JoseError::Signature));
    }

    // Made by `jose`'s EncryptJWT as Better Auth's symmetricEncodeJWT does (see
    // tests/better-auth/vectors.mjs).
    const JWE_VECTOR_KID: &str = "fOXpuye_7ULcffyHMRBQf7NJyaomSHDvL-5GtikiYyU";
    const JWE_VECTOR: &str = "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2Q0JDLUhTNTEyIiwia2lkIjoiZk9YcHV5ZV83VUxjZmZ5SE1SQlFmN05KeWFvbVNIRHZMLTVHdGlraVl5VSJ9..GxjR0KBKX0MtJHaSjlI3zA.9Of4kC6xVSqKZKCAJ6cAqtCSmMpFHILFsCiAcntzP298K9Cd7A70wsstPZgqfMZN1sinqUZ_s6-q2593CQAlxM8l9OHYReR-aY7OKooj6-dcqS5P7XJNuEblXCdqlpl9A7VGIoh1QqcA9zXNVClkAA.XmFpDQcHeXmDy-4qRi3kIQr7gXJPUFm5ibYQNeoqYeU";
}
