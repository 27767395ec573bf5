//! Compact JWE decryption (`dir` + `A256CBC-HS512`), with Better Auth's key derivation.

use aes::cipher::{BlockDecryptMut, KeyIvInit, block_padding::Pkcs7};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};

use super::header::{JoseError, MAX_COMPACT_LEN, b64, header_of};

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
