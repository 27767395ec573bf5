//! A DPoP client's key and its proofs (RFC 9449), for the tests and the benchmark.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// An Ed25519 key a client proves possession of.
pub struct DpopKey {
    key: SigningKey,
    jwk: Value,
}

impl Default for DpopKey {
    fn default() -> Self {
        Self::new()
    }
}

impl DpopKey {
    /// A fresh random key.
    pub fn new() -> Self {
        let key = SigningKey::from_bytes(&rand::random::<[u8; 32]>());
        let jwk = json!({"kty": "OKP", "crv": "Ed25519",
                         "x": URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes())});
        Self { key, jwk }
    }

    /// Its RFC 7638 thumbprint: a bound token's `cnf.jkt`.
    pub fn jkt(&self) -> String {
        let jwk = self.jwk.as_object().expect("a JWK object");
        auth_core::jose::dpop::jwk_thumbprint(jwk).expect("a thumbprint")
    }

    /// The public half.
    pub fn verifying_key(&self) -> ed25519_dalek::VerifyingKey {
        self.key.verifying_key()
    }

    /// A fresh proof (its own `jti`, `iat` now) for `method url`, bound to `token` (its `ath`)
    /// when given.
    pub fn proof(&self, method: &str, url: &str, token: Option<&str>) -> String {
        let mut claims = json!({
            "htm": method, "htu": url, "iat": chrono::Utc::now().timestamp(),
            "jti": crate::random_token(16),
        });
        if let Some(token) = token {
            claims["ath"] = json!(URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes())));
        }
        let header = json!({"typ": "dpop+jwt", "alg": "EdDSA", "jwk": self.jwk});
        crate::jws::sign_eddsa(&self.key, &header, &claims)
    }
}
