//! Read replicas (`DATABASE_READ_URL`) against a real streaming replica: one throwaway primary
//! and one `pg_basebackup -R` copy of it for the whole suite, a database of its own per test.
//! The suite's tests take turns (a replica's replay is paused, and the replica stopped, for the
//! whole cluster), each starting from a running, replaying replica.
//!
//! What they prove: the authorizer's reads are served by the replica (a revocation it has not
//! replayed yet is not seen: the bound the README states); a revocation is refused once
//! replayed, and at once when the replica lags more than `DATABASE_READ_MAX_LAG_MS`; a stopped
//! replica sends reads to the primary; both down is an error, never an Allow.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use auth_core::Authenticator;
use auth_core::signing::{Secret, sign_cookie_value};
use auth_core::store::postgres::LAG_SQL;
use authorizer::handler::{AuthorizerError, handle_json as handle};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::Value;
use test_support::Variant;
use test_support::cluster::{Cluster, free_port};
use test_support::events::{Shape, event};
use tokio_postgres::{Client, NoTls};

const SECRET: &str = "read-replica-test-secret-0123456789abcdefgh";
const USER: &str = "u1";
const TOKEN: &str = "ReplicaTestToken0000000000000001";

/// The suite's primary and its streaming replica, started once, stopped after the process.
struct Pair {
    primary: Cluster,
    replica: Cluster,
}

static PAIR: OnceLock<Pair> = OnceLock::new();
/// The tests take turns: pausing replay or stopping the replica affects the whole cluster.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The pair, running and replaying (a test that failed half-way may have left it otherwise).
async fn pair() -> &'static Pair {
    let pair = PAIR.get_or_init(|| {
        let primary = Cluster::start();
        primary.stop_when_process_exits();
        let replica = Cluster::replica_of(&primary);
        replica.stop_when_process_exits();
        Pair { primary, replica }
    });
    if !pair.replica.is_running() {
        pair.replica.resume();
    }
    connect(&pair.replica.url)
        .await
        .batch_execute("SELECT pg_wal_replay_resume()")
        .await
        .expect("replay resumed");
    pair
}

async fn connect(url: &str) -> Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.expect("connect");
    tokio::spawn(connection);
    client
}

/// A database of the test's own on the primary, with Better Auth's schema, a user and a live
/// session, replayed on the replica; its name.
async fn seeded_database(pair: &Pair) -> String {
    let name = format!(
        "replica_{}",
        test_support::random_token(10).to_ascii_lowercase()
    );
    connect(&pair.primary.url)
        .await
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create database");
    let db = connect(&pair.primary.url_of(&name)).await;
    db.batch_execute(Variant::Default.sql())
        .await
        .expect("schema");
    db.batch_execute(&format!(
        "INSERT INTO \"user\" (id, name, email, \"emailVerified\", \"createdAt\", \"updatedAt\", role)
           VALUES ('{USER}', 'Replica', 'r@example.com', true, now(), now(), 'user');
         INSERT INTO session (id, token, \"userId\", \"expiresAt\", \"createdAt\", \"updatedAt\")
           VALUES ('s1', '{TOKEN}', '{USER}', now() + interval '1 day', now(), now());"
    ))
    .await
    .expect("seed");
    replayed(pair).await;
    name
}

/// Waits until the replica has replayed everything the primary has written so far.
async fn replayed(pair: &Pair) {
    let primary = connect(&pair.primary.url).await;
    let replica = connect(&pair.replica.url).await;
    let lsn: String = primary
        .query_one("SELECT pg_current_wal_lsn()::text", &[])
        .await
        .expect("primary's position")
        .get(0);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let caught_up: bool = replica
            .query_one(
                "SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn",
                &[&lsn],
            )
            .await
            .expect("replica's position")
            .get(0);
        if caught_up {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the replica never replayed {lsn}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn revoke_on_primary(pair: &Pair, database: &str) {
    let removed = connect(&pair.primary.url_of(database))
        .await
        .execute("DELETE FROM session WHERE token = $1", &[&TOKEN])
        .await
        .expect("revoke");
    assert_eq!(removed, 1);
}

async fn pause_replay(pair: &Pair) {
    connect(&pair.replica.url)
        .await
        .batch_execute("SELECT pg_wal_replay_pause()")
        .await
        .expect("replay paused");
}

fn authenticator(primary_url: &str, read_url: &str, extra: &[(&str, &str)]) -> Authenticator {
    // The default timeouts: a stopped server refuses connections at once, and a short timeout
    // on a loaded machine would send reads to the primary for reasons no test is about.
    let mut settings = vec![("DATABASE_READ_URL", read_url)];
    settings.extend_from_slice(extra);
    test_support::authenticator(primary_url, SECRET, &settings)
}

async fn authorize(auth: &Authenticator) -> Result<Value, AuthorizerError> {
    let cookie = format!(
        "better-auth.session_token={}",
        sign_cookie_value(&Secret::new(SECRET), TOKEN)
    );
    let request = event(Shape::RestRequest, None, Some(&cookie));
    handle(auth, LambdaEvent::new(request, Context::default())).await
}

fn allowed(answer: &Result<Value, AuthorizerError>) -> bool {
    matches!(answer, Ok(v) if v["principalId"] == USER
        && v["policyDocument"]["Statement"][0]["Effect"] == "Allow")
}

fn refused(answer: &Result<Value, AuthorizerError>) -> bool {
    matches!(answer, Err(AuthorizerError::Unauthorized))
}

#[tokio::test]
async fn reads_are_served_by_the_replica_and_a_revocation_is_refused_once_replayed() {
    let _turn = TURN.lock().await;
    let pair = pair().await;
    let database = seeded_database(pair).await;
    let auth = authenticator(
        &pair.primary.url_of(&database),
        &pair.replica.url_of(&database),
        &[],
    );
    assert!(allowed(&authorize(&auth).await));

    pause_replay(pair).await;
    revoke_on_primary(pair, &database).await;
    let stale = authorize(&auth).await;
    assert!(
        allowed(&stale),
        "the replica, which has not replayed the revocation, answered (no lag bound set): {stale:?}"
    );

    connect(&pair.replica.url)
        .await
        .batch_execute("SELECT pg_wal_replay_resume()")
        .await
        .expect("replay resumed");
    replayed(pair).await;
    let answer = authorize(&auth).await;
    assert!(refused(&answer), "replayed: refused, {answer:?}");
}

#[tokio::test]
async fn a_replica_lagging_past_the_bound_is_skipped_and_the_revocation_refused_at_once() {
    let _turn = TURN.lock().await;
    let pair = pair().await;
    let database = seeded_database(pair).await;
    const MAX_LAG_MS: f64 = 200.0;
    let auth = authenticator(
        &pair.primary.url_of(&database),
        &pair.replica.url_of(&database),
        &[
            ("DATABASE_READ_MAX_LAG_MS", "200"),
            ("DATABASE_READ_LAG_CHECK_INTERVAL_MS", "10"),
        ],
    );
    assert!(
        allowed(&authorize(&auth).await),
        "caught up: the replica is used"
    );
    // That verdict holds for the check interval (10 ms); the last call below must measure anew.
    let verdict_expires = tokio::time::Instant::now() + Duration::from_millis(20);

    pause_replay(pair).await;
    revoke_on_primary(pair, &database).await;
    // The replica now holds WAL it has not replayed: its lag is the age of its last replayed
    // commit. Wait (never assert on time) until it reports more than the bound.
    let replica = connect(&pair.replica.url_of(&database)).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let lag: Option<f64> = replica.query_one(LAG_SQL, &[]).await.expect("lag").get(0);
        if lag.is_some_and(|ms| ms > MAX_LAG_MS) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the lag never passed the bound: {lag:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep_until(verdict_expires).await;
    let answer = authorize(&auth).await;
    assert!(
        refused(&answer),
        "the replica still holds the session, but lags past the bound: the primary answered, {answer:?}"
    );
}

#[tokio::test]
async fn a_stopped_replica_sends_reads_to_the_primary_and_both_down_is_never_an_allow() {
    let _turn = TURN.lock().await;
    let pair = pair().await;
    let database = seeded_database(pair).await;
    let (primary_url, read_url) = (
        pair.primary.url_of(&database),
        pair.replica.url_of(&database),
    );
    let unbounded = authenticator(&primary_url, &read_url, &[]);
    let bounded = authenticator(
        &primary_url,
        &read_url,
        &[
            ("DATABASE_READ_MAX_LAG_MS", "1000"),
            ("DATABASE_READ_LAG_CHECK_INTERVAL_MS", "10"),
        ],
    );
    for auth in [&unbounded, &bounded] {
        assert!(allowed(&authorize(auth).await));
    }

    pair.replica.stop();
    let (logs_guard, logs) = test_support::logs::capture();
    for auth in [&unbounded, &bounded] {
        let answer = authorize(auth).await;
        assert!(allowed(&answer), "the primary answered: {answer:?}");
    }
    revoke_on_primary(pair, &database).await;
    for auth in [&unbounded, &bounded] {
        let answer = authorize(auth).await;
        assert!(refused(&answer), "the primary's answer: {answer:?}");
    }

    // Neither endpoint answers: an error (API Gateway: 500), never an Allow.
    let nothing_there = format!("postgres://postgres@127.0.0.1:{}/{database}", free_port());
    for extra in [&[][..], &[("DATABASE_READ_MAX_LAG_MS", "1000")][..]] {
        let auth = authenticator(&nothing_there, &read_url, extra);
        let answer = authorize(&auth).await;
        assert_eq!(answer, Err(AuthorizerError::Internal), "fails closed");
    }
    let text = logs.text();
    drop(logs_guard);
    assert!(
        text.contains("the read replica failed; reading from the primary")
            && text.contains("the read replica's lag could not be read"),
        "{text}"
    );
    assert!(!text.contains(TOKEN), "the token never reaches the log");
    pair.replica.resume();
}

/// The API key method's statement counts the use (`UPDATE … RETURNING`): with a reader
/// configured it runs on the primary, never tried on the read-only replica first.
#[tokio::test]
async fn an_api_key_use_is_counted_on_the_primary_with_a_reader_configured() {
    let _turn = TURN.lock().await;
    let pair = pair().await;
    let database = seeded_database(pair).await;
    let key = format!("replica_{}", test_support::random_token(32));
    let primary = connect(&pair.primary.url_of(&database)).await;
    primary
        .execute(
            "INSERT INTO apikey (id, \"configId\", \"referenceId\", key, enabled, \"rateLimitEnabled\",
               \"requestCount\", remaining, \"createdAt\", \"updatedAt\")
             VALUES ('k1', 'default', $1, $2, true, false, 0, 5, now(), now())",
            &[&USER, &auth_core::methods::api_key::hash_key(&key)],
        )
        .await
        .expect("key");
    replayed(pair).await;
    let auth = authenticator(
        &pair.primary.url_of(&database),
        &pair.replica.url_of(&database),
        &[("BETTER_AUTH_METHODS", "api-key,session")],
    );
    let (logs_guard, logs) = test_support::logs::capture();
    let request = test_support::events::with_header(
        Shape::RestRequest,
        event(Shape::RestRequest, None, None),
        "x-api-key",
        &key,
    );
    let answer = handle(&auth, LambdaEvent::new(request, Context::default())).await;
    let text = logs.text();
    drop(logs_guard);
    assert!(allowed(&answer), "{answer:?}");
    let remaining: i32 = primary
        .query_one("SELECT remaining FROM apikey WHERE id = 'k1'", &[])
        .await
        .expect("key row")
        .get(0);
    assert_eq!(remaining, 4, "counted on the primary");
    assert!(
        !text.contains("read replica failed"),
        "the counting statement was never sent to the replica: {text}"
    );
}
