//! Stateless verification against the real Better Auth server: the jwt plugin's tokens (every key
//! algorithm, keys read from the `jwks` table, rotation), the cookie cache in every strategy
//! (including chunked cookies), and the result cache, plus forged tokens of every kind.
//!
//! "Without any HTTP call to Better Auth" is shown by stopping the Better Auth server before our
//! authenticator runs; "without a database query" by pointing our authenticator at a database
//! address where nothing listens.

use std::time::Duration;

use auth_core::MethodName as Method;
use auth_core::{AuthError, Authenticator, CredentialSource, Refusal};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signer, SigningKey};
use hmac::{Hmac, Mac};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use sha2::Sha256;
use test_support::TestDb;
use test_support::better_auth::{BetterAuthServer, Credential, Profile, ServerOptions, Version};
use test_support::events::{Shape, event};

const SECRET: &str = "stateless-test-secret-0123456789abcdefghijkl";
/// Nothing listens here: any database query fails.
const NO_DATABASE: &str = "postgres://nobody@127.0.0.1:9/nothing?connect_timeout=1";

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn signing_input(header: &Value, claims: &Value) -> String {
    format!("{}.{}", b64(header.to_string()), b64(claims.to_string()))
}

fn sign_ed25519(key: &SigningKey, header: Value, claims: Value) -> String {
    let input = signing_input(&header, &claims);
    let signature = key.sign(input.as_bytes());
    format!("{input}.{}", b64(signature.to_bytes()))
}

fn sign_hs256(secret: &[u8], header: Value, claims: Value) -> String {
    let input = signing_input(&header, &claims);
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("hmac");
    mac.update(input.as_bytes());
    format!("{input}.{}", b64(mac.finalize().into_bytes()))
}

fn fresh_key() -> SigningKey {
    SigningKey::from_bytes(&rand::random::<[u8; 32]>())
}

fn header_of(jwt: &str) -> Value {
    let segment = jwt.split('.').next().expect("header");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).expect("b64")).expect("json")
}

fn claims_of(jwt: &str) -> Value {
    let segment = jwt.split('.').nth(1).expect("payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).expect("b64")).expect("json")
}

fn bearer(value: &str) -> (Option<String>, Option<String>) {
    (Some(format!("Bearer {value}")), None)
}

async fn check(
    auth: &Authenticator,
    headers: &(Option<String>, Option<String>),
) -> Result<auth_core::Authenticated, AuthError> {
    let mut raw = auth_core::RawCredentials::default();
    if let Some(a) = &headers.0 {
        raw.authorization.push(a);
    }
    if let Some(c) = &headers.1 {
        raw.cookies.push(c);
    }
    auth.authenticate(&raw).await
}

fn refused_code(result: Result<auth_core::Authenticated, AuthError>) -> &'static str {
    match result {
        Ok(ok) => panic!("allowed {:?}", ok.identity.user_id),
        Err(error) => error.code(),
    }
}

/// A server with the given options on its own schema, and one signed-up user.
async fn server(
    options: ServerOptions,
) -> (
    TestDb,
    BetterAuthServer,
    test_support::better_auth::SignedIn,
) {
    let db = Profile::Default.database().await;
    let ba = BetterAuthServer::start(&db, options).await;
    let user = ba.sign_up("stateless@example.com").await;
    (db, ba, user)
}

fn jwt_auth(db_url: &str, base_url: &str, extra: &[(&str, &str)]) -> Authenticator {
    let mut vars = vec![
        ("BETTER_AUTH_METHODS", "jwt,session"),
        ("BETTER_AUTH_URL", base_url),
    ];
    vars.extend_from_slice(extra);
    test_support::authenticator(db_url, SECRET, &vars)
}

async fn jwt_authorizes_without_calling_better_auth(alg: &'static str) {
    jwt_authorizes_on(alg, Version::V1_7).await;
}

async fn jwt_authorizes_on(alg: &'static str, version: Version) {
    let mut options = ServerOptions::new(Profile::Default, SECRET);
    options.jwt_alg = Some(alg);
    options.version = version;
    let (db, ba, user) = server(options).await;
    let cookie = Credential::Cookie(user.cookie.clone());
    let from_token_endpoint = ba.jwt(&cookie).await;
    let from_header = ba
        .request("GET", "/get-session", None, Some(&cookie))
        .await
        .auth_jwt
        .expect("set-auth-jwt header");
    assert_eq!(header_of(&from_token_endpoint)["alg"], alg);
    let base_url = ba.base_url.clone();
    // Better Auth is gone: whatever happens next cannot call it.
    drop(ba);
    let auth = jwt_auth(&db.url, &base_url, &[]);
    for jwt in [&from_token_endpoint, &from_header] {
        let ok = check(&auth, &bearer(jwt))
            .await
            .expect("a real JWT authorizes");
        assert_eq!(ok.identity.user_id, Some(user.user_id.clone()), "{alg}");
        assert_eq!(ok.identity.email, "stateless@example.com");
        assert_eq!(ok.identity.session_id, None, "a JWT has no session");
        assert_eq!(ok.method, Method::Jwt);
        assert_eq!(ok.source, CredentialSource::BearerJwt);
    }
    assert_eq!(
        auth.keys().fetch_count(),
        1,
        "keys were read once, from the jwks table"
    );
    // The session token keeps working through the session method.
    let ok = check(&auth, &bearer(&user.token)).await.expect("session");
    assert_eq!(ok.method, Method::Session);
}

#[tokio::test]
async fn eddsa_jwt_authorizes_without_calling_better_auth() {
    jwt_authorizes_without_calling_better_auth("EdDSA").await;
}

#[tokio::test]
async fn es256_jwt_authorizes_without_calling_better_auth() {
    jwt_authorizes_without_calling_better_auth("ES256").await;
}

#[tokio::test]
async fn es512_jwt_authorizes_without_calling_better_auth() {
    jwt_authorizes_without_calling_better_auth("ES512").await;
}

#[tokio::test]
async fn ps256_jwt_authorizes_without_calling_better_auth() {
    jwt_authorizes_without_calling_better_auth("PS256").await;
}

#[tokio::test]
async fn rs256_jwt_authorizes_without_calling_better_auth() {
    jwt_authorizes_without_calling_better_auth("RS256").await;
}

#[tokio::test]
async fn the_authorizer_says_a_jwt_vouched_and_gives_no_session() {
    let (db, ba, user) = server(ServerOptions::new(Profile::Default, SECRET)).await;
    let jwt = ba.jwt(&Credential::Cookie(user.cookie.clone())).await;
    let auth = jwt_auth(&db.url, &ba.base_url, &[]);
    for shape in [Shape::RestToken, Shape::RestRequest, Shape::HttpV2] {
        let payload = event(shape, Some(&format!("Bearer {jwt}")), None);
        let answer =
            authorizer::handler::handle_json(&auth, LambdaEvent::new(payload, Context::default()))
                .await
                .expect("allowed");
        let context = &answer["context"];
        assert_eq!(context["userId"], user.user_id.as_str(), "{shape:?}");
        assert_eq!(context["verifiedBy"], "jwt");
        assert_eq!(context["authMethod"], "bearer_jwt");
        assert_eq!(context["sessionId"], "");
    }
}

#[tokio::test]
async fn forged_jwts_are_refused() {
    let (db, ba, user) = server(ServerOptions::new(Profile::Default, SECRET)).await;
    let real = ba.jwt(&Credential::Cookie(user.cookie.clone())).await;
    let base_url = ba.base_url.clone();
    drop(ba);
    let auth = jwt_auth(&db.url, &base_url, &[]);
    check(&auth, &bearer(&real))
        .await
        .expect("the real token is fine");
    let header = header_of(&real);
    let kid = header["kid"].as_str().expect("kid").to_owned();
    let claims = claims_of(&real);
    let parts: Vec<&str> = real.split('.').collect();

    // Another user's id in a genuinely signed token's payload.
    let mut other = claims.clone();
    other["sub"] = json!("someone-else");
    let tampered = format!("{}.{}.{}", parts[0], b64(other.to_string()), parts[2]);
    assert_eq!(
        refused_code(check(&auth, &bearer(&tampered)).await),
        "jwt_bad_signature"
    );

    // alg: none, with and without a signature.
    let none = format!(
        "{}.{}.",
        b64(json!({"alg": "none", "kid": kid}).to_string()),
        parts[1]
    );
    assert_eq!(
        refused_code(check(&auth, &bearer(&none)).await),
        "jwt_algorithm_refused"
    );
    let none_sig = format!(
        "{}.{}.{}",
        b64(json!({"alg": "none", "kid": kid}).to_string()),
        parts[1],
        parts[2]
    );
    assert_eq!(
        refused_code(check(&auth, &bearer(&none_sig)).await),
        "jwt_algorithm_refused"
    );

    // Algorithm confusion: HS256 keyed with the public key (as stored, and as raw bytes), and
    // HS256 keyed with the Better Auth secret.
    let row = db
        .client
        .query_one("SELECT \"publicKey\" FROM jwks WHERE id = $1", &[&kid])
        .await
        .expect("the key row");
    let public_json: String = row.get(0);
    let public: Value = serde_json::from_str(&public_json).expect("jwk");
    let x = URL_SAFE_NO_PAD
        .decode(public["x"].as_str().expect("x"))
        .expect("x bytes");
    for key in [public_json.as_bytes(), x.as_slice(), SECRET.as_bytes()] {
        let confused = sign_hs256(key, json!({"alg": "HS256", "kid": kid}), claims.clone());
        assert_eq!(
            refused_code(check(&auth, &bearer(&confused)).await),
            "jwt_algorithm_refused"
        );
    }

    // The right kid, the wrong key.
    let wrong_key = sign_ed25519(
        &fresh_key(),
        json!({"alg": "EdDSA", "kid": kid}),
        claims.clone(),
    );
    assert_eq!(
        refused_code(check(&auth, &bearer(&wrong_key)).await),
        "jwt_bad_signature"
    );

    // A kid Better Auth never made: refused, and a flood of them costs at most one reload.
    let before = auth.keys().fetch_count();
    for _ in 0..20 {
        let unknown = sign_ed25519(
            &fresh_key(),
            json!({"alg": "EdDSA", "kid": format!("made-up-{}", rand::random::<u32>())}),
            claims.clone(),
        );
        assert_eq!(
            refused_code(check(&auth, &bearer(&unknown)).await),
            "jwt_unknown_key"
        );
    }
    assert!(
        auth.keys().fetch_count() - before <= 1,
        "unknown kids are refetched at most once per interval"
    );

    // No kid at all.
    let no_kid = sign_ed25519(&fresh_key(), json!({"alg": "EdDSA"}), claims.clone());
    assert_eq!(
        refused_code(check(&auth, &bearer(&no_kid)).await),
        "jwt_unknown_key"
    );
}

#[tokio::test]
async fn claims_are_checked_on_correctly_signed_tokens() {
    // A key of our own in Better Auth's jwks table, so that any claim can be signed correctly.
    let (db, ba, user) = server(ServerOptions::new(Profile::Default, SECRET)).await;
    let base_url = ba.base_url.clone();
    drop(ba);
    let key = fresh_key();
    let public = json!({"crv": "Ed25519", "x": b64(key.verifying_key().as_bytes()), "kty": "OKP"});
    db.execute(
        "INSERT INTO jwks (id, \"publicKey\", \"privateKey\", \"createdAt\", alg, crv) VALUES ('test-key', $1, 'unused', now(), 'EdDSA', 'Ed25519')",
        &[&public.to_string()],
    )
    .await;
    let auth = jwt_auth(
        &db.url,
        &base_url,
        &[("BETTER_AUTH_CLOCK_SKEW_SECONDS", "5")],
    );
    let now = chrono::Utc::now().timestamp();
    let claims = |change: &dyn Fn(&mut Value)| {
        let mut c = json!({
            "sub": user.user_id, "id": user.user_id, "email": "stateless@example.com", "name": "Test User",
            "emailVerified": false, "role": "user", "banned": false,
            "iat": now, "exp": now + 900, "iss": base_url, "aud": base_url,
        });
        change(&mut c);
        sign_ed25519(&key, json!({"alg": "EdDSA", "kid": "test-key"}), c)
    };
    check(&auth, &bearer(&claims(&|_| {})))
        .await
        .expect("a correct token of our own key");
    type Change<'a> = &'a dyn Fn(&mut Value);
    let cases: [(&str, Change<'_>); 9] = [
        ("jwt_expired", &|c| c["exp"] = json!(now - 60)),
        ("jwt_not_yet_valid", &|c| c["nbf"] = json!(now + 60)),
        ("jwt_wrong_issuer", &|c| {
            c["iss"] = json!("https://evil.example")
        }),
        ("jwt_wrong_audience", &|c| {
            c["aud"] = json!("https://another-api.example")
        }),
        ("jwt_wrong_audience", &|c| {
            c.as_object_mut().map(|o| o.remove("aud"));
        }),
        ("jwt_bad_claims", &|c| {
            c.as_object_mut().map(|o| o.remove("exp"));
        }),
        ("jwt_bad_claims", &|c| {
            c.as_object_mut().map(|o| o.remove("sub"));
        }),
        ("user_banned", &|c| c["banned"] = json!(true)),
        ("jwt_bad_claims", &|c| c["exp"] = json!("tomorrow")),
    ];
    for (code, change) in cases {
        assert_eq!(
            refused_code(check(&auth, &bearer(&claims(change))).await),
            code
        );
    }
    // Within the leeway an expired token still passes; beyond it, it does not.
    check(&auth, &bearer(&claims(&|c| c["exp"] = json!(now - 2))))
        .await
        .expect("within leeway");
    // The email-verified policy applies to JWTs too.
    let strict = jwt_auth(
        &db.url,
        &base_url,
        &[("BETTER_AUTH_REQUIRE_EMAIL_VERIFIED", "true")],
    );
    assert_eq!(
        refused_code(check(&strict, &bearer(&claims(&|_| {}))).await),
        "email_not_verified"
    );
}

#[tokio::test]
async fn rotated_keys_are_picked_up_and_old_ones_honoured_for_the_grace_period() {
    let (db, ba, user) = server(ServerOptions::new(Profile::Default, SECRET)).await;
    let cookie = Credential::Cookie(user.cookie.clone());
    let first = ba.jwt(&cookie).await;
    let auth = jwt_auth(
        &db.url,
        &ba.base_url,
        &[("BETTER_AUTH_JWKS_REFETCH_SECONDS", "1")],
    );
    check(&auth, &bearer(&first)).await.expect("first key");
    // Rotation: the current key expires, so Better Auth mints a new one for the next token.
    db.execute(
        "UPDATE jwks SET \"expiresAt\" = now() - interval '1 second'",
        &[],
    )
    .await;
    let second = ba.jwt(&cookie).await;
    assert_ne!(
        header_of(&first)["kid"],
        header_of(&second)["kid"],
        "Better Auth rotated"
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    check(&auth, &bearer(&second))
        .await
        .expect("the new key is fetched on its unknown kid");
    check(&auth, &bearer(&first))
        .await
        .expect("the old key is within its grace period");
    assert_eq!(auth.keys().fetch_count(), 2);
    // Past the grace period the old key is gone for a fresh container.
    db.execute(
        "UPDATE jwks SET \"expiresAt\" = now() - interval '31 days' WHERE id = $1",
        &[&header_of(&first)["kid"].as_str().expect("kid")],
    )
    .await;
    let fresh = jwt_auth(&db.url, &ba.base_url, &[]);
    assert_eq!(
        refused_code(check(&fresh, &bearer(&first)).await),
        "jwt_unknown_key"
    );
    check(&fresh, &bearer(&second)).await.expect("the new key");
}

#[tokio::test]
async fn the_optional_ban_check_reads_the_current_ban() {
    let (db, ba, user) = server(ServerOptions::new(Profile::Default, SECRET)).await;
    let jwt = ba.jwt(&Credential::Cookie(user.cookie.clone())).await;
    db.execute(
        "UPDATE \"user\" SET banned = true WHERE id = $1",
        &[&user.user_id],
    )
    .await;
    let lagging = jwt_auth(&db.url, &ba.base_url, &[]);
    check(&lagging, &bearer(&jwt))
        .await
        .expect("without the check, a JWT outlives a ban until exp");
    let checking = jwt_auth(
        &db.url,
        &ba.base_url,
        &[("BETTER_AUTH_JWT_CHECK_BAN", "true")],
    );
    assert_eq!(
        refused_code(check(&checking, &bearer(&jwt)).await),
        "user_banned"
    );
    db.execute("DELETE FROM \"user\" WHERE id = $1", &[&user.user_id])
        .await;
    assert_eq!(
        refused_code(check(&checking, &bearer(&jwt)).await),
        "unknown_session"
    );
}

#[tokio::test]
async fn a_jwt_is_refused_when_jwt_is_not_an_accepted_method() {
    let (db, ba, user) = server(ServerOptions::new(Profile::Default, SECRET)).await;
    let jwt = ba.jwt(&Credential::Cookie(user.cookie.clone())).await;
    let auth = test_support::authenticator(&db.url, SECRET, &[]);
    assert!(check(&auth, &bearer(&jwt)).await.is_err());
}

/// The `Cookie` header a browser would send after this reply: the session cookie plus the cookie
/// cache (and its chunks).
fn cookie_header(reply: &test_support::better_auth::Reply) -> String {
    reply.cookies.join("; ")
}

async fn cookie_cache_authorizes_without_the_database(strategy: &'static str, plugin: bool) {
    cookie_cache_on(strategy, plugin, Version::V1_7).await;
}

async fn cookie_cache_on(strategy: &'static str, plugin: bool, version: Version) {
    let mut options = ServerOptions::new(Profile::Default, SECRET);
    options.cookie_cache = Some(strategy);
    options.cookie_cache_plugin = plugin;
    options.version = version;
    let db = Profile::Default.database().await;
    let ba = BetterAuthServer::start(&db, options).await;
    let reply = ba.sign_up_reply("cache@example.com", "Cache User").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let header = cookie_header(&reply);
    assert!(
        header.contains("better-auth.session_data"),
        "Better Auth set a cookie cache: {header}"
    );
    let user_id = reply.body["user"]["id"].as_str().expect("id").to_owned();
    let mut extra = vec![
        ("BETTER_AUTH_METHODS", "cookie-cache,session"),
        ("BETTER_AUTH_COOKIE_CACHE_STRATEGY", strategy),
    ];
    let jwks_url = format!("{}/api/auth/jwks", ba.base_url);
    if plugin {
        // The plugin-signed cache is verified with the jwt plugin's keys; with no database to
        // read them from, they come from Better Auth's JWKS endpoint.
        extra.extend([
            ("BETTER_AUTH_URL", ba.base_url.as_str()),
            ("BETTER_AUTH_JWKS", "url"),
            ("BETTER_AUTH_JWKS_URL", jwks_url.as_str()),
        ]);
    }
    let auth = test_support::authenticator(NO_DATABASE, SECRET, &extra);
    let ok = check(&auth, &(None, Some(header.clone())))
        .await
        .unwrap_or_else(|e| panic!("{strategy}: {e}"));
    assert_eq!(ok.identity.user_id, Some(user_id));
    assert_eq!(ok.method, Method::CookieCache);
    assert!(ok.identity.session_id.is_some());

    // Without the cache cookie the same request needs the database, which is not there.
    let session_only = reply
        .cookies
        .iter()
        .find(|c| c.starts_with("better-auth.session_token="))
        .expect("session cookie")
        .clone();
    let err = check(&auth, &(None, Some(session_only.clone())))
        .await
        .expect_err("no database");
    assert!(matches!(err, AuthError::Store(_)), "{strategy}: {err}");

    // A cache bound to another session falls back (to the unreachable database: an error, never
    // an allow).
    let other = ba.sign_up_reply("other@example.com", "Other").await;
    let other_token = other
        .cookies
        .iter()
        .find(|c| c.starts_with("better-auth.session_token="))
        .expect("other session cookie")
        .clone();
    let cache_only: Vec<&String> = reply
        .cookies
        .iter()
        .filter(|c| c.contains("session_data"))
        .collect();
    let mixed = format!(
        "{other_token}; {}",
        cache_only
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    );
    assert!(
        check(&auth, &(None, Some(mixed))).await.is_err(),
        "{strategy}"
    );

    // A tampered cache is not used.
    let tampered = header.replacen("session_data=", "session_data=A", 1);
    assert!(
        check(&auth, &(None, Some(tampered))).await.is_err(),
        "{strategy}"
    );

    // Another cache version is not used.
    let mut v2 = extra.clone();
    v2.push(("BETTER_AUTH_COOKIE_CACHE_VERSION", "2"));
    let auth_v2 = test_support::authenticator(NO_DATABASE, SECRET, &v2);
    assert!(
        check(&auth_v2, &(None, Some(header.clone())))
            .await
            .is_err(),
        "{strategy}"
    );

    // With the database there, every miss falls back to the session lookup and succeeds.
    let mut with_db = extra.clone();
    with_db.push(("BETTER_AUTH_COOKIE_CACHE_VERSION", "2"));
    let auth_db = test_support::authenticator(&db.url, SECRET, &with_db);
    let ok = check(&auth_db, &(None, Some(header)))
        .await
        .expect("fallback");
    assert_eq!(ok.method, Method::Session);
}

#[tokio::test]
async fn compact_cookie_cache_authorizes_without_the_database() {
    cookie_cache_authorizes_without_the_database("compact", false).await;
}

#[tokio::test]
async fn jwt_cookie_cache_authorizes_without_the_database() {
    cookie_cache_authorizes_without_the_database("jwt", false).await;
}

#[tokio::test]
async fn jwe_cookie_cache_authorizes_without_the_database() {
    cookie_cache_authorizes_without_the_database("jwe", false).await;
}

#[tokio::test]
async fn plugin_signed_cookie_cache_authorizes_without_the_database() {
    cookie_cache_authorizes_without_the_database("jwt", true).await;
}

#[tokio::test]
async fn chunked_and_expired_cookie_caches() {
    let mut options = ServerOptions::new(Profile::Default, SECRET);
    options.cookie_cache = Some("compact");
    options.cookie_cache_max_age = Some(2);
    let db = Profile::Default.database().await;
    let ba = BetterAuthServer::start(&db, options).await;
    // A long name pushes the cache over Better Auth's 4050-byte cookie limit.
    let reply = ba
        .sign_up_reply("chunky@example.com", &"N".repeat(6000))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(
        reply
            .cookies
            .iter()
            .any(|c| c.starts_with("better-auth.session_data.1=")),
        "the cache was chunked: {:?}",
        reply
            .cookies
            .iter()
            .map(|c| c.split('=').next())
            .collect::<Vec<_>>()
    );
    let mut header = reply.cookies.clone();
    header.reverse(); // chunk order in the header must not matter
    let header = header.join("; ");
    let auth = test_support::authenticator(
        NO_DATABASE,
        SECRET,
        &[
            ("BETTER_AUTH_METHODS", "cookie-cache"),
            ("BETTER_AUTH_CLOCK_SKEW_SECONDS", "0"),
        ],
    );
    let ok = check(&auth, &(None, Some(header.clone())))
        .await
        .expect("chunked cache");
    assert_eq!(ok.identity.name.len(), 6000);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let refused = check(&auth, &(None, Some(header)))
        .await
        .expect_err("expired cache");
    assert_eq!(
        refused.code(),
        Refusal::Unknown.code(),
        "cookie-cache only: an expired cache is refused"
    );
}

#[tokio::test]
async fn the_result_cache_reuses_lookups_but_never_past_expiry() {
    let db = TestDb::new(test_support::Variant::Default).await;
    let (_, session) = db.user_with_session().await;
    let cached = test_support::authenticator(
        &db.url,
        SECRET,
        &[
            ("AUTH_RESULT_CACHE_TTL_MS", "60000"),
            ("AUTH_RESULT_CACHE_NEGATIVE_TTL_MS", "60000"),
        ],
    );
    let uncached = test_support::authenticator(&db.url, SECRET, &[]);
    let creds = bearer(&session.token);
    check(&cached, &creds).await.expect("first lookup");
    check(&uncached, &creds).await.expect("first lookup");
    assert_eq!(cached.result_cache().map_or(0, |c| c.len()), 1);
    // Revoked (deleted) in the database: the cached answer lags by up to the TTL; no cache, no lag.
    db.execute("DELETE FROM session WHERE token = $1", &[&session.token])
        .await;
    check(&cached, &creds).await.expect("served from the cache");
    assert_eq!(
        refused_code(check(&uncached, &creds).await),
        "unknown_session"
    );

    // A session about to expire is never served past its expiresAt, whatever the TTL.
    let short_user = db
        .create_user(&test_support::NewUser::new("short@example.com"))
        .await;
    let short = db
        .create_session(
            &short_user,
            chrono::Utc::now() + chrono::Duration::seconds(1),
        )
        .await;
    let short_creds = bearer(&short.token);
    check(&cached, &short_creds).await.expect("still valid");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        refused_code(check(&cached, &short_creds).await),
        "session_expired"
    );

    // Unknown tokens are remembered negatively: creating the session afterwards is seen only
    // after the negative TTL.
    let unknown = test_support::random_token(32);
    assert_eq!(
        refused_code(check(&cached, &bearer(&unknown)).await),
        "unknown_session"
    );
    assert_eq!(cached.result_cache().map_or(0, |c| c.len()), 3);
}

#[tokio::test]
async fn a_database_error_is_never_cached_or_allowed() {
    let cached = test_support::authenticator(
        NO_DATABASE,
        SECRET,
        &[
            ("AUTH_RESULT_CACHE_TTL_MS", "60000"),
            ("AUTH_RESULT_CACHE_NEGATIVE_TTL_MS", "60000"),
        ],
    );
    let creds = bearer(&test_support::random_token(32));
    for _ in 0..2 {
        let err = check(&cached, &creds).await.expect_err("no database");
        assert!(matches!(err, AuthError::Store(_)), "{err}");
    }
    assert_eq!(cached.result_cache().map_or(0, |c| c.len()), 0);
}

/// A fresh Ed25519 key of our own in the jwks table under `kid`, retired `expired_ago` (an SQL
/// interval) ago when given.
async fn own_key(db: &TestDb, kid: &str, expired_ago: Option<&str>) -> SigningKey {
    let key = fresh_key();
    let public = json!({"crv": "Ed25519", "x": b64(key.verifying_key().as_bytes()), "kty": "OKP"});
    db.execute(
        "INSERT INTO jwks (id, \"publicKey\", \"privateKey\", \"createdAt\", \"expiresAt\", alg, crv) \
         VALUES ($1, $2, 'unused', now() - interval '2 days', now() - $3::text::interval, 'EdDSA', 'Ed25519')",
        &[&kid, &public.to_string(), &expired_ago],
    )
    .await;
    key
}

#[tokio::test]
async fn a_retired_key_is_trusted_only_for_the_configured_grace_period() {
    let db = TestDb::new(test_support::Variant::Default).await;
    // Rotated an hour ago (an emergency rotation with a short grace period).
    let key = own_key(&db, "retired", Some("1 hour")).await;
    let base_url = "https://auth.example.com";
    let now = chrono::Utc::now().timestamp();
    let jwt = sign_ed25519(
        &key,
        json!({"alg": "EdDSA", "kid": "retired"}),
        json!({"sub": "u1", "email": "a@example.com", "iat": now, "exp": now + 900, "iss": base_url, "aud": base_url}),
    );
    let default_grace = jwt_auth(&db.url, base_url, &[]);
    check(&default_grace, &bearer(&jwt))
        .await
        .expect("within Better Auth's default 30-day grace");
    let short_grace = jwt_auth(
        &db.url,
        base_url,
        &[("BETTER_AUTH_JWKS_GRACE_PERIOD_SECONDS", "600")],
    );
    assert_eq!(
        refused_code(check(&short_grace, &bearer(&jwt)).await),
        "jwt_unknown_key"
    );
}

#[tokio::test]
async fn tokens_of_other_kinds_on_the_same_keys_are_not_sessions() {
    let db = TestDb::new(test_support::Variant::Default).await;
    let key = own_key(&db, "k", None).await;
    let base_url = "https://auth.example.com";
    let auth = jwt_auth(&db.url, base_url, &[]);
    let now = chrono::Utc::now().timestamp();
    let sign = |header: Value, extra: Value| {
        let mut claims = json!({"sub": "u1", "email": "a@example.com", "iat": now, "exp": now + 900, "iss": base_url, "aud": base_url});
        if let (Some(c), Some(e)) = (claims.as_object_mut(), extra.as_object()) {
            c.extend(e.clone());
        }
        sign_ed25519(&key, header, claims)
    };
    let session = sign(json!({"alg": "EdDSA", "kid": "k", "typ": "JWT"}), json!({}));
    check(&auth, &bearer(&session))
        .await
        .expect("a session JWT");
    for (case, jwt) in [
        (
            "at+jwt",
            sign(
                json!({"alg": "EdDSA", "kid": "k", "typ": "at+jwt"}),
                json!({}),
            ),
        ),
        (
            "logout+jwt",
            sign(
                json!({"alg": "EdDSA", "kid": "k", "typ": "logout+jwt"}),
                json!({}),
            ),
        ),
        (
            "cookie cache",
            sign(
                json!({"alg": "EdDSA", "kid": "k", "typ": "better-auth.session-cache+jwt"}),
                json!({}),
            ),
        ),
        (
            "azp",
            sign(
                json!({"alg": "EdDSA", "kid": "k"}),
                json!({"azp": "client-1"}),
            ),
        ),
        (
            "client_id",
            sign(
                json!({"alg": "EdDSA", "kid": "k"}),
                json!({"client_id": "client-1"}),
            ),
        ),
        (
            "scope",
            sign(
                json!({"alg": "EdDSA", "kid": "k"}),
                json!({"scope": "openid profile"}),
            ),
        ),
    ] {
        assert_eq!(
            refused_code(check(&auth, &bearer(&jwt)).await),
            "jwt_not_a_session_token",
            "{case}"
        );
    }
}

/// JWTs and cookie caches minted by the latest Better Auth 1.6.
#[tokio::test]
async fn better_auth_1_6_jwts_and_cookie_caches_authorize() {
    jwt_authorizes_on("EdDSA", Version::V1_6).await;
    for (strategy, plugin) in [("compact", false), ("jwt", false), ("jwe", false)] {
        cookie_cache_on(strategy, plugin, Version::V1_6).await;
    }
}
