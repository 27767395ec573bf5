//! What every JOSE part shares: algorithms, errors, the protected header, base64url.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

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
    /// `jwk`: the signer's public key, carried by a DPoP proof ([`super::dpop`]); ignored
    /// everywhere else.
    #[serde(default)]
    pub jwk: Option<serde_json::Value>,
}

pub(crate) fn b64(value: &str) -> Result<Vec<u8>, JoseError> {
    URL_SAFE_NO_PAD
        .decode(value)
        .map_err(|_| JoseError::Malformed)
}

pub(crate) fn b64_field(value: Option<&String>) -> Result<Vec<u8>, JoseError> {
    b64(value.ok_or(JoseError::Key)?).map_err(|_| JoseError::Key)
}

/// The protected header of a compact JWS or JWE.
pub(crate) fn header_of(segment: &str) -> Result<Header, JoseError> {
    let header: Header =
        serde_json::from_slice(&b64(segment)?).map_err(|_| JoseError::Malformed)?;
    if header.crit.is_some() || header.zip.is_some() {
        return Err(JoseError::Algorithm);
    }
    Ok(header)
}
