//! Faults: PostgreSQL stopped mid-run, a frozen or slow database, connections lost while the
//! sandbox was frozen, and an exhausted pool. In every case the authorizer refuses (never
//! allows), answers within its timeouts, says why in one log line, and recovers by itself.

use std::time::{Duration, Instant};

use auth_core::Authenticator;
use auth_core::signing::{Secret, sign_cookie_value};
use authorizer::handler::{AuthorizerError, handle_json as handle};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::Value;
use test_support::cluster::Cluster;
use test_support::events::{Shape, event};
use test_support::proxy::Proxy;
use test_support::{TestDb, Variant};

const SECRET: &str = "faults-test-secret-0123456789abcdefghijklm";

fn authenticator(url: &str, extra: &[(&str, &str)]) -> Authenticator {
    test_support::authenticator(url, SECRET, extra)
}

fn request(token: &str) -> Value {
    let cookie = format!(
        "better-auth.session_token={}",
        sign_cookie_value(&Secret::new(SECRET), token)
    );
    event(Shape::RestRequest, None, Some(&cookie))
}

async fn authorize(
    auth: &Authenticator,
    token: &str,
) -> (Result<Value, AuthorizerError>, Duration) {
    let started = Instant::now();
    let answer = handle(auth, LambdaEvent::new(request(token), Context::default())).await;
    (answer, started.elapsed())
}

fn allowed(answer: &Result<Value, AuthorizerError>, user: &str) -> bool {
    matches!(answer, Ok(v) if v["principalId"] == user
        && v["policyDocument"]["Statement"][0]["Effect"] == "Allow")
}

/// A user with a live session in the `postgres` database of `url` (Better Auth's schema).
async fn seed(url: &str) -> (String, String) {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(connection);
    client
        .batch_execute(Variant::Default.sql())
        .await
        .expect("schema");
    client
        .batch_execute(
            "INSERT INTO \"user\" (id, name, email, \"emailVerified\", \"createdAt\", \"updatedAt\", role)
               VALUES ('u1', 'Faulty', 'f@example.com', true, now(), now(), 'user');
             INSERT INTO session (id, token, \"userId\", \"expiresAt\", \"createdAt\", \"updatedAt\")
               VALUES ('s1', 'FaultTestToken000000000000000001', 'u1', now() + interval '1 day', now(), now());",
        )
        .await
        .expect("seed");
    ("u1".into(), "FaultTestToken000000000000000001".into())
}

/// A proxy in front of the test server, and `db`'s URL through it.
async fn behind_proxy(db: &TestDb) -> (Proxy, String) {
    let config: tokio_postgres::Config = db.database_url.parse().expect("url");
    let upstream = match (config.get_hosts().first(), config.get_ports().first()) {
        (Some(tokio_postgres::config::Host::Tcp(h)), Some(p)) => format!("{h}:{p}"),
        _ => "127.0.0.1:5432".to_owned(),
    };
    let proxy = Proxy::start(&upstream).await;
    let url = db.url.replacen(&upstream, &proxy.address, 1);
    assert_ne!(url, db.url, "the URL goes through the proxy");
    (proxy, url)
}

#[tokio::test]
async fn postgres_stopped_mid_run_refuses_within_the_timeout_and_recovers_by_itself() {
    let cluster = Cluster::start();
    let (user, token) = seed(&cluster.url).await;
    let auth = authenticator(
        &cluster.url,
        &[
            ("DATABASE_CONNECT_TIMEOUT_MS", "1000"),
            ("DATABASE_STATEMENT_TIMEOUT_MS", "1000"),
        ],
    );
    let (logs_guard, logs) = test_support::logs::capture();
    let (answer, _) = authorize(&auth, &token).await;
    assert!(allowed(&answer, &user), "{answer:?}");

    cluster.stop();
    for attempt in 0..5 {
        let (answer, took) = authorize(&auth, &token).await;
        assert_eq!(
            answer,
            Err(AuthorizerError::Internal),
            "attempt {attempt}: refused as an error (API Gateway: 500), never allowed"
        );
        // Connect timeout + statement timeout (+ scheduling slack) bound every answer.
        assert!(
            took < Duration::from_millis(2000 + 1500),
            "attempt {attempt} took {took:?}"
        );
    }
    let text = logs.text();
    let error_lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("\"decision\":\"error\""))
        .collect();
    assert_eq!(
        error_lines.len(),
        5,
        "one error line per refused request:\n{text}"
    );
    assert!(
        error_lines
            .iter()
            .all(|l| (l.contains("\"reason\":\"database_unavailable\"")
                || l.contains("\"reason\":\"database_timeout\""))
                && l.contains("\"level\":\"ERROR\"")),
        "{text}"
    );
    assert!(!text.contains(&token), "the token never reaches the log");

    cluster.resume();
    let (answer, _) = authorize(&auth, &token).await;
    assert!(
        allowed(&answer, &user),
        "the same authenticator (no new container) answers again: {answer:?}"
    );
    drop(logs_guard);
}

#[tokio::test]
async fn a_frozen_database_hits_the_statement_timeout_then_recovers() {
    let db = TestDb::new(Variant::Default).await;
    let (user, session) = db.user_with_session().await;
    let (proxy, url) = behind_proxy(&db).await;
    let auth = authenticator(
        &url,
        &[
            ("DATABASE_STATEMENT_TIMEOUT_MS", "400"),
            ("DATABASE_CONNECT_TIMEOUT_MS", "400"),
        ],
    );
    assert!(allowed(&authorize(&auth, &session.token).await.0, &user));

    proxy.stall();
    let (answer, took) = authorize(&auth, &session.token).await;
    assert_eq!(
        answer,
        Err(AuthorizerError::Internal),
        "refused, never allowed"
    );
    assert!(
        took >= Duration::from_millis(390),
        "it waited for the timeout ({took:?})"
    );
    assert!(
        took < Duration::from_millis(400 + 1500),
        "the timeout held ({took:?})"
    );

    proxy.resume();
    let (answer, _) = authorize(&auth, &session.token).await;
    assert!(
        allowed(&answer, &user),
        "recovers once the database answers: {answer:?}"
    );
}

#[tokio::test]
async fn connections_lost_while_the_sandbox_was_frozen_are_replaced() {
    let db = TestDb::new(Variant::Default).await;
    let (user, session) = db.user_with_session().await;
    let (proxy, url) = behind_proxy(&db).await;
    let auth = authenticator(
        &url,
        &[
            ("DATABASE_VERIFY_IDLE_AFTER_MS", "200"),
            ("DATABASE_CONNECT_TIMEOUT_MS", "500"),
        ],
    );
    assert!(allowed(&authorize(&auth, &session.token).await.0, &user));
    assert_eq!(proxy.opened(), 1);

    // Frozen for a while; meanwhile the network forgot the connection without closing it.
    tokio::time::sleep(Duration::from_millis(300)).await;
    proxy.black_hole_existing();
    let (answer, took) = authorize(&auth, &session.token).await;
    assert!(
        allowed(&answer, &user),
        "the thawed sandbox's first request is answered correctly: {answer:?}"
    );
    assert!(took < Duration::from_millis(500 + 1500), "{took:?}");
    assert_eq!(
        proxy.opened(),
        2,
        "the dead connection was replaced by a new one"
    );
}

#[tokio::test]
async fn an_exhausted_pool_waits_refuses_and_recovers() {
    let db = TestDb::new(Variant::Default).await;
    let (user, session) = db.user_with_session().await;
    let auth = authenticator(
        &db.url,
        &[
            ("DATABASE_POOL_MAX_SIZE", "1"),
            ("DATABASE_CONNECT_TIMEOUT_MS", "500"),
        ],
    );
    assert!(allowed(&authorize(&auth, &session.token).await.0, &user));

    // Held briefly: the request waits for the connection and is answered correctly.
    let held = auth.database().client().await.expect("the only connection");
    let release = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        drop(held);
    });
    let (answer, took) = authorize(&auth, &session.token).await;
    assert!(allowed(&answer, &user), "{answer:?}");
    assert!(took >= Duration::from_millis(100), "it waited ({took:?})");
    release.await.expect("released");

    // Held for longer than the wait allows: refused as an error, never allowed.
    let held = auth.database().client().await.expect("the only connection");
    let (answer, took) = authorize(&auth, &session.token).await;
    assert_eq!(answer, Err(AuthorizerError::Internal));
    assert!(took < Duration::from_millis(500 + 1500), "{took:?}");
    drop(held);

    let (answer, _) = authorize(&auth, &session.token).await;
    assert!(
        allowed(&answer, &user),
        "the next request is answered correctly: {answer:?}"
    );
}

/// A JWT signed with `key` under `kid`, for `user`, valid for 15 minutes.
fn eddsa_jwt(key: &ed25519_dalek::SigningKey, kid: &str, user: &str) -> String {
    use base64::Engine as _;
    use ed25519_dalek::Signer as _;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let now = chrono::Utc::now().timestamp();
    let header = serde_json::json!({"alg": "EdDSA", "kid": kid});
    let claims = serde_json::json!({
        "sub": user, "email": "f@example.com", "name": "Faulty", "emailVerified": true,
        "iat": now, "exp": now + 900,
        "iss": "https://auth.example.com", "aud": "https://auth.example.com",
    });
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let signature = key.sign(input.as_bytes());
    format!("{input}.{}", b64(&signature.to_bytes()))
}

#[tokio::test]
async fn jwt_decisions_stay_fast_and_correct_while_the_key_source_is_down() {
    use base64::Engine as _;
    let cluster = Cluster::start();
    let (user, _) = seed(&cluster.url).await;
    let key = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
    let public = serde_json::json!({
        "kty": "OKP", "crv": "Ed25519",
        "x": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes()),
    });
    let (client, connection) = tokio_postgres::connect(&cluster.url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(connection);
    client
        .execute(
            "INSERT INTO jwks (id, \"publicKey\", \"privateKey\", \"createdAt\", alg, crv) VALUES ('k1', $1, 'unused', now(), 'EdDSA', 'Ed25519')",
            &[&public.to_string()],
        )
        .await
        .expect("key");
    drop(client);
    let auth = authenticator(
        &cluster.url,
        &[
            ("BETTER_AUTH_METHODS", "jwt"),
            ("BETTER_AUTH_URL", "https://auth.example.com"),
            ("BETTER_AUTH_JWKS_MAX_AGE_SECONDS", "1"),
            ("BETTER_AUTH_JWKS_REFETCH_SECONDS", "60"),
            ("DATABASE_CONNECT_TIMEOUT_MS", "1000"),
        ],
    );
    let jwt = eddsa_jwt(&key, "k1", &user);
    let raw_header = format!("Bearer {jwt}");
    let raw = auth_core::RawCredentials {
        authorization: vec![&raw_header],
        cookies: vec![],
        api_keys: vec![],
        ..Default::default()
    };
    assert!(auth.authenticate(&raw).await.is_ok(), "keys loaded");
    assert_eq!(auth.keys().fetch_count(), 1);

    cluster.stop();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    for attempt in 0..5 {
        let ok = auth.authenticate(&raw).await;
        assert!(
            ok.is_ok(),
            "attempt {attempt}: the last good keys still serve: {ok:?}"
        );
    }
    assert_eq!(
        auth.keys().fetch_count(),
        2,
        "one failed reload, then none until the refetch interval (each would wait out the connect timeout)"
    );
    let forged = eddsa_jwt(
        &ed25519_dalek::SigningKey::from_bytes(&[8u8; 32]),
        "k1",
        &user,
    );
    let forged_header = format!("Bearer {forged}");
    let refused = auth
        .authenticate(&auth_core::RawCredentials {
            authorization: vec![&forged_header],
            cookies: vec![],
            api_keys: vec![],
            ..Default::default()
        })
        .await;
    assert_eq!(
        refused.map(|_| ()).map_err(|e| e.code()),
        Err("jwt_bad_signature")
    );
}
