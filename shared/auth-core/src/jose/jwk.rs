//! Public JSON Web Keys, bound to one algorithm when loaded, and key sets.

use serde::Deserialize;
use sha2::Sha256;

use super::header::{Algorithm, JoseError, MIN_RSA_BITS, b64_field};

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
    pub(super) key: PublicKey,
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
