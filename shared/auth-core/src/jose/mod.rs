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

pub mod dpop;
mod header;
mod jwe;
mod jwk;
mod jws;

pub use header::{Algorithm, Header, JoseError, MAX_COMPACT_LEN, MIN_RSA_BITS};
pub use jwe::{JweKey, decrypt_dir, derive_jwe_key, oct_thumbprint};
pub use jwk::{Jwk, KeySet, PublicKey, VerificationKey};
pub use jws::{Jws, looks_like_jws, parse_jws, verify_hs256};

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use hmac::{Hmac, Mac};
    use sha2::Sha256;

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
