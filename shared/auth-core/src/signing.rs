//! Better Auth's signed cookie values: `token + "." + base64(HMAC-SHA256(secret, token))`.
//!
//! Pure functions, no I/O. Verification follows `better-call`'s `getSignedCookie` to the letter:
//! split at the last `.`, the signature is exactly 44 characters of standard base64 ending in `=`,
//! and the MAC is compared in constant time.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Length of a standard-base64 HMAC-SHA256 signature with its padding.
pub const SIGNATURE_LEN: usize = 44;

/// Decodes like the browser's `atob` does for a 44-character value: padding required, trailing
/// bits ignored. Better Auth accepts exactly these, so we accept exactly these.
const ATOB_LIKE: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical)
        .with_decode_allow_trailing_bits(true),
);

/// The characters `encodeURIComponent` leaves alone are `A-Z a-z 0-9 - _ . ! ~ * ' ( )`.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// The Better Auth secret used to sign session cookies. Its `Debug` never shows the value.
///
/// The HMAC-SHA256 key schedule (the inner and outer padded key blocks) is computed once, here:
/// each MAC then starts from a copy of it, two SHA-256 blocks fewer per request.
#[derive(Clone)]
pub struct Secret {
    bytes: Vec<u8>,
    keyed: HmacSha256,
}

impl Secret {
    /// Wraps the secret's bytes (the UTF-8 text of `BETTER_AUTH_SECRET`).
    pub fn new(value: impl Into<Vec<u8>>) -> Self {
        let bytes = value.into();
        // HMAC accepts keys of any length; this cannot fail.
        let keyed = match HmacSha256::new_from_slice(&bytes) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC-SHA256 takes keys of any length"),
        };
        Self { bytes, keyed }
    }

    /// The secret's bytes, for the other things Better Auth keys with it (HS256, the JWE key
    /// derivation). Never log them.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// A fresh HMAC-SHA256 keyed with the secret (cookie signatures, the compact cookie cache).
    pub fn hmac_sha256(&self) -> HmacSha256 {
        self.keyed.clone()
    }

    fn mac(&self) -> HmacSha256 {
        self.hmac_sha256()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Why a signed value was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// There is no `.` separating token and signature, or the token part is empty.
    #[error("the value carries no signature")]
    Missing,
    /// The signature is not 44 characters of padded standard base64.
    #[error("the signature is malformed")]
    Malformed,
    /// The signature does not match the token under this secret.
    #[error("the signature does not match")]
    Mismatch,
}

/// `token.signature`, as Better Auth's `set-auth-token` header carries it (not percent-encoded).
pub fn sign(secret: &Secret, token: &str) -> String {
    let mut mac = secret.mac();
    mac.update(token.as_bytes());
    let signature = STANDARD.encode(mac.finalize().into_bytes());
    format!("{token}.{signature}")
}

/// The session cookie's value exactly as Better Auth sets it: the signed value, percent-encoded
/// like `encodeURIComponent`.
pub fn sign_cookie_value(secret: &Secret, token: &str) -> String {
    utf8_percent_encode(&sign(secret, token), URI_COMPONENT).to_string()
}

/// Checks a signed value that has already been percent-decoded and returns the token it signs.
pub fn verify<'a>(secret: &Secret, signed: &'a str) -> Result<&'a str, SignatureError> {
    let Some(dot) = signed.rfind('.') else {
        return Err(SignatureError::Missing);
    };
    if dot == 0 {
        return Err(SignatureError::Missing);
    }
    let (token, signature) = (&signed[..dot], &signed[dot + 1..]);
    if signature.len() != SIGNATURE_LEN || !signature.ends_with('=') {
        return Err(SignatureError::Malformed);
    }
    let signature = ATOB_LIKE
        .decode(signature)
        .map_err(|_| SignatureError::Malformed)?;
    let mut mac = secret.mac();
    mac.update(token.as_bytes());
    // `verify_slice` compares in constant time.
    mac.verify_slice(&signature)
        .map_err(|_| SignatureError::Mismatch)?;
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    // The test vector from better-auth-wire-format.md, produced by Better Auth 1.7 itself.
    const SECRET: &str = "test-secret-0123456789abcdefghijklmnopqrstuvwxyz";
    const TOKEN: &str = "16wdRQ2r5xE3DyCPTsx4SQXF5yuasMk1";
    const COOKIE: &str =
        "16wdRQ2r5xE3DyCPTsx4SQXF5yuasMk1.VS5WcWfwGEwqP3xhIbTqcHlTRflHAkoAJqKxkJh3Eew%3D";

    #[test]
    fn signs_the_cookie_exactly_as_better_auth_does() {
        assert_eq!(sign_cookie_value(&Secret::new(SECRET), TOKEN), COOKIE);
    }

    #[test]
    fn verifies_the_test_vector() {
        let decoded = COOKIE.replace("%3D", "=");
        assert_eq!(verify(&Secret::new(SECRET), &decoded), Ok(TOKEN));
    }

    #[test]
    fn refuses_another_secret() {
        let decoded = COOKIE.replace("%3D", "=");
        assert_eq!(
            verify(
                &Secret::new("another-secret-0123456789abcdefghijklmnop"),
                &decoded
            ),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn refuses_a_tampered_token_or_signature() {
        let secret = Secret::new(SECRET);
        let signed = sign(&secret, TOKEN);
        let other_token = signed.replacen('1', "2", 1);
        assert_eq!(verify(&secret, &other_token), Err(SignatureError::Mismatch));
        let mut bytes = signed.into_bytes();
        let i = bytes.len() - 5;
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        let other_signature = String::from_utf8(bytes).expect("ascii");
        assert_eq!(
            verify(&secret, &other_signature),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn refuses_base64url_and_unpadded_signatures_like_better_auth() {
        let secret = Secret::new(SECRET);
        let signed = sign(&secret, TOKEN);
        let unpadded = signed.trim_end_matches('=');
        assert_eq!(verify(&secret, unpadded), Err(SignatureError::Malformed));
        let url_safe = signed.replace('+', "-").replace('/', "_");
        if url_safe != signed {
            assert_eq!(verify(&secret, &url_safe), Err(SignatureError::Malformed));
        }
        assert_eq!(verify(&secret, TOKEN), Err(SignatureError::Missing));
        assert_eq!(verify(&secret, ".abc"), Err(SignatureError::Missing));
        assert_eq!(
            verify(&secret, &format!("{TOKEN}.{}", "=".repeat(44))),
            Err(SignatureError::Malformed)
        );
    }

    #[test]
    fn splits_at_the_last_dot() {
        let secret = Secret::new(SECRET);
        let signed = sign(&secret, "a.b");
        assert_eq!(verify(&secret, &signed), Ok("a.b"));
    }

    #[test]
    fn debug_never_shows_the_secret() {
        assert!(!format!("{:?}", Secret::new(SECRET)).contains("test-secret"));
    }
}
