//! Compact JWS: parsing and verification (public keys, or HS256 with the shared secret).

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::header::{Algorithm, Header, JoseError, MAX_COMPACT_LEN, b64, header_of};
use super::jwk::{KeySet, VerificationKey};

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
