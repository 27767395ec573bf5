//! Property tests (a bounded fuzz run in CI) of every parser an attacker reaches: the
//! `Authorization` and `Cookie` headers, signed tokens, JWS and JWE compact serializations, the
//! cookie cache in each strategy, and JWT claims. Whatever the input: no panic, and nothing
//! unsigned is ever accepted. `PROPTEST_CASES` raises the case count (default 400 per property).

use auth_core::credentials::{CookieNames, ExtractOptions, RawCredentials, extract};
use auth_core::jose::{self, Algorithm, JweKey, Jwk, KeySet, PublicKey, VerificationKey};
use auth_core::session_data::{self, CacheSettings, Strategy as CacheStrategy};
use auth_core::session_jwt::{ClaimRules, read_claims};
use auth_core::signing::{Secret, sign_cookie_value, verify};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use ed25519_dalek::{Signer as _, SigningKey};
use proptest::prelude::*;
use proptest::test_runner::{FileFailurePersistence, RngSeed};

const SECRET: &str = "property-test-secret-0123456789abcdefghij";

/// Reproducible in CI: a fixed seed (override with `PROPTEST_RNG_SEED`), and any failure kept
/// in `tests/parsers.proptest-regressions` (commit it) to be replayed first on every run.
fn config() -> ProptestConfig {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    ProptestConfig {
        cases: env("PROPTEST_CASES").map_or(400, |n| u32::try_from(n).unwrap_or(400)),
        rng_seed: RngSeed::Fixed(env("PROPTEST_RNG_SEED").unwrap_or(0x5EED_BA11)),
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..ProptestConfig::default()
    }
}

/// Better Auth's signature decoder: standard base64, trailing bits ignored (like `atob`).
fn signature_bytes(signed: &str) -> Option<(&str, Vec<u8>)> {
    use base64::Engine as _;
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
    );
    let (token, signature) = signed.rsplit_once('.')?;
    Some((token, engine.decode(signature).ok()?))
}

fn options(require_signature: bool) -> ExtractOptions {
    ExtractOptions {
        secret: Secret::new(SECRET),
        cookie_names: CookieNames::new("better-auth"),
        require_signature,
    }
}

/// Header-ish text: printable ASCII with the characters that matter to the parsers, or any
/// Unicode at all.
fn header_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,120}",
        "(?i)bearer[ \t]{0,3}[A-Za-z0-9%+/=._~-]{0,80}",
        "(__Secure-)?better-auth\\.session_(token|data)(\\.[0-9])?=[A-Za-z0-9%+/=._~;, -]{0,120}",
        "([a-z._-]{1,12}=[ -~]{0,30}; ?){0,6}",
        any::<String>(),
    ]
}

/// A JWS with a header that names any algorithm and key, over any payload and signature.
fn jws_like() -> impl Strategy<Value = String> {
    let alg = prop_oneof![
        Just("none".to_owned()),
        Just("HS256".to_owned()),
        Just("EdDSA".to_owned()),
        Just("ES256".to_owned()),
        Just("ES512".to_owned()),
        Just("RS256".to_owned()),
        Just("PS256".to_owned()),
        "[A-Za-z0-9]{0,8}",
    ];
    let kid = prop_oneof![
        Just(Some("k".to_owned())),
        Just(None),
        "[ -~]{0,8}".prop_map(Some)
    ];
    (
        alg,
        kid,
        any::<Vec<u8>>(),
        proptest::collection::vec(any::<u8>(), 0..140),
    )
        .prop_map(|(alg, kid, payload, signature)| {
            let mut header = serde_json::json!({"alg": alg, "typ": "JWT"});
            if let Some(kid) = kid {
                header["kid"] = serde_json::json!(kid);
            }
            format!(
                "{}.{}.{}",
                URL_SAFE_NO_PAD.encode(header.to_string()),
                URL_SAFE_NO_PAD.encode(payload),
                URL_SAFE_NO_PAD.encode(signature)
            )
        })
}

fn ed25519_keys() -> (SigningKey, KeySet) {
    let key = SigningKey::from_bytes(&[7u8; 32]);
    let jwk = Jwk {
        kty: "OKP".into(),
        crv: Some("Ed25519".into()),
        x: Some(URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes())),
        y: None,
        n: None,
        e: None,
        alg: None,
        kid: None,
        d: None,
    };
    let public = PublicKey::from_jwk(&jwk).expect("a valid JWK");
    let keys = KeySet::new(vec![
        VerificationKey::new("k".into(), Algorithm::EdDSA, public).expect("key"),
    ]);
    (key, keys)
}

fn cache_settings(strategy: CacheStrategy) -> CacheSettings {
    CacheSettings {
        strategy,
        version: "1".into(),
        secret: Secret::new(SECRET),
        jwe_keys: vec![JweKey::derive(SECRET.as_bytes(), session_data::JWE_SALT)],
        plugin_issuer: "https://app.example".into(),
        leeway_seconds: 5,
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn headers_never_yield_an_unsigned_credential(
        authorization in proptest::collection::vec(header_text(), 0..3),
        cookies in proptest::collection::vec(header_text(), 0..4),
    ) {
        let raw = RawCredentials {
            authorization: authorization.iter().map(String::as_str).collect(),
            cookies: cookies.iter().map(String::as_str).collect(),
            api_keys: vec![], ..Default::default()
        };
        // With signatures required, nothing random is a credential.
        prop_assert!(extract(&raw, &options(true)).is_err(), "{raw:?}");
        // Without, only an unsigned bearer value may pass through (to be looked up, and then
        // found or not): never a cookie.
        if let Ok(credential) = extract(&raw, &options(false)) {
            prop_assert_eq!(credential.source.as_str(), "bearer");
        }
        let _ = auth_core::credentials::bearer_jws(&raw);
    }

    #[test]
    fn any_change_to_a_signed_token_is_refused(
        token in "[A-Za-z0-9]{32}",
        at in any::<prop::sample::Index>(),
        replacement in any::<char>(),
    ) {
        let signed = auth_core::signing::sign(&Secret::new(SECRET), &token);
        prop_assert_eq!(verify(&Secret::new(SECRET), &signed), Ok(token.as_str()));
        let mut chars: Vec<char> = signed.chars().collect();
        let i = at.index(chars.len());
        prop_assume!(chars[i] != replacement);
        chars[i] = replacement;
        let changed: String = chars.into_iter().collect();
        // A change is refused unless it decodes to the very same token and MAC bytes (a change
        // within a signature's padding bits, which Better Auth's decoder accepts too).
        let same_bytes = signature_bytes(&changed).is_some()
            && signature_bytes(&changed) == signature_bytes(&signed);
        match verify(&Secret::new(SECRET), &changed) {
            Ok(accepted) => {
                prop_assert!(same_bytes, "{changed} was accepted but decodes differently");
                prop_assert_eq!(accepted, token.as_str());
            }
            Err(_) => prop_assert!(!same_bytes, "{changed} decodes the same but was refused"),
        }
        let cookie = format!("better-auth.session_token={}", sign_cookie_value(&Secret::new("another-secret-0123456789abcdefghijklmn"), &token));
        let raw = RawCredentials { authorization: vec![], cookies: vec![&cookie] , api_keys: vec![], ..Default::default() };
        prop_assert!(extract(&raw, &options(false)).is_err());
    }

    #[test]
    fn signed_values_verify_only_with_the_secret(value in any::<String>()) {
        prop_assert!(verify(&Secret::new(SECRET), &value).is_err());
    }

    #[test]
    fn jws_is_never_accepted_unsigned(token in prop_oneof![jws_like(), any::<String>(), "[A-Za-z0-9._-]{0,200}"]) {
        let (_, keys) = ed25519_keys();
        if let Ok(jws) = jose::parse_jws(&token) {
            prop_assert!(jws.verify_with(&keys).is_err(), "{token}");
            prop_assert!(jws.verify_hs256(SECRET.as_bytes()).is_err(), "{token}");
        }
        let _ = jose::looks_like_jws(&token);
    }

    #[test]
    fn a_signed_jws_with_any_change_is_refused(
        payload in any::<Vec<u8>>(),
        at in any::<prop::sample::Index>(),
        replacement in "[A-Za-z0-9_.=-]",
    ) {
        let (key, keys) = ed25519_keys();
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"EdDSA","kid":"k"}"#),
            URL_SAFE_NO_PAD.encode(&payload)
        );
        let token = format!("{input}.{}", URL_SAFE_NO_PAD.encode(key.sign(input.as_bytes()).to_bytes()));
        prop_assert_eq!(jose::parse_jws(&token).and_then(|j| j.verify_with(&keys)), Ok(payload.clone()));
        let mut bytes = token.clone().into_bytes();
        let i = at.index(bytes.len());
        let r = replacement.as_bytes()[0];
        prop_assume!(bytes[i] != r);
        bytes[i] = r;
        let changed = String::from_utf8(bytes).expect("ascii");
        // A changed token either fails or, where base64 has slack in its last character,
        // decodes to the very same bytes (the same signed message).
        if let Ok(plain) = jose::parse_jws(&changed).and_then(|j| j.verify_with(&keys)) {
            prop_assert_eq!(plain, payload);
        }
    }

    #[test]
    fn jwe_and_cookie_caches_are_never_accepted_unsigned(
        value in prop_oneof![any::<String>(), "[A-Za-z0-9_-]{0,300}", jws_like(),
            "[A-Za-z0-9_-]{10,40}\\.\\.[A-Za-z0-9_-]{22}\\.[A-Za-z0-9_-]{0,200}\\.[A-Za-z0-9_-]{0,43}"],
        token in "[A-Za-z0-9]{32}",
    ) {
        let (_, keys) = ed25519_keys();
        prop_assert!(jose::decrypt_dir(&value, &[JweKey::derive(SECRET.as_bytes(), session_data::JWE_SALT)]).is_err());
        for strategy in [CacheStrategy::Compact, CacheStrategy::Jwt, CacheStrategy::Jwe] {
            let settings = cache_settings(strategy);
            let _ = session_data::plugin_key_id(&value, &settings);
            prop_assert!(session_data::decode(&value, &settings, &keys, &token, Utc::now()).is_err());
        }
    }

    #[test]
    fn claims_parsing_never_panics(payload in prop_oneof![
        any::<Vec<u8>>().boxed(),
        "\\{\"sub\":\"[a-z]{0,5}\",\"exp\":-?[0-9]{0,20},\"iss\":\"[ -~]{0,10}\",\"aud\":\\[\"[a-z:/.]{0,20}\"\\]\\}".prop_map(String::into_bytes).boxed(),
    ]) {
        let rules = ClaimRules {
            issuer: "https://app.example".into(),
            audience: "https://app.example".into(),
            leeway_seconds: 5,
        };
        let _ = read_claims(&payload, &rules, Utc::now());
    }
}
