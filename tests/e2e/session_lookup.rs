//! The session lookup against every schema layout Better Auth users run, on real PostgreSQL.

use std::time::{Duration as StdDuration, Instant};

use auth_core::StoreError;
use auth_core::signing::{Secret, sign_cookie_value};
use auth_core::{AuthError, Authenticator, Outcome, RawCredentials, Refusal};
use chrono::{Duration, SubsecRound, Utc};
use test_support::http::TEST_SECRET;
use test_support::{NewUser, TestDb, Variant};

const SECRET: &str = "lookup-test-secret-0123456789abcdefghijklmn";

fn authenticator(url: &str, extra: &[(&str, &str)]) -> Authenticator {
    test_support::authenticator(url, SECRET, extra)
}

async fn check(auth: &Authenticator, token: &str) -> Result<auth_core::Identity, AuthError> {
    let cookie = format!(
        "better-auth.session_token={}",
        sign_cookie_value(&Secret::new(SECRET), token)
    );
    let raw = RawCredentials {
        authorization: vec![],
        cookies: vec![&cookie],
        api_keys: vec![],
        ..Default::default()
    };
    auth.authenticate(&raw).await.map(|a| a.identity)
}

fn refusal(result: Result<auth_core::Identity, AuthError>) -> Refusal {
    match result {
        Err(AuthError::Refused { reason, .. }) => reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn every_schema_variant_validates_sessions() {
    for variant in Variant::ALL {
        let db = TestDb::new(variant).await;
        let mut user = NewUser::new("person@example.com");
        user.role = Some("admin,user".into());
        let user_id = db.create_user(&user).await;
        let expires_at = (Utc::now() + Duration::minutes(30)).trunc_subsecs(3);
        let live = db.create_session(&user_id, expires_at).await;
        let expired = db
            .create_session(&user_id, Utc::now() - Duration::minutes(30))
            .await;
        let auth = authenticator(&db.url, &[]);

        let identity = check(&auth, &live.token)
            .await
            .unwrap_or_else(|e| panic!("{variant:?}: {e}"));
        assert_eq!(identity.user_id, Some(user_id), "{variant:?}");
        assert_eq!(identity.session_id, Some(live.id), "{variant:?}");
        assert_eq!(identity.email, "person@example.com");
        assert!(identity.email_verified);
        assert_eq!(
            identity.expires_at,
            Some(expires_at),
            "{variant:?}: timestamps read as UTC"
        );
        if variant.has_admin() {
            assert_eq!(
                identity.roles().collect::<Vec<_>>(),
                ["admin", "user"],
                "{variant:?}"
            );
        } else {
            assert_eq!(identity.role, None, "{variant:?}");
        }
        assert_eq!(
            refusal(check(&auth, &expired.token).await),
            Refusal::Expired,
            "{variant:?}"
        );
        let unknown = test_support::random_token(32);
        assert_eq!(
            refusal(check(&auth, &unknown).await),
            Refusal::Unknown,
            "{variant:?}"
        );

        // Deleting the row (Better Auth's sign-out and revocation) ends the session at once.
        let delete = format!(
            "DELETE FROM \"{}\" WHERE {} = $1",
            variant.session_table(),
            variant.col("token")
        );
        db.execute(&delete, &[&live.token]).await;
        assert_eq!(
            refusal(check(&auth, &live.token).await),
            Refusal::Unknown,
            "{variant:?}"
        );
    }
}

#[tokio::test]
async fn bans_are_enforced_in_every_admin_variant() {
    for variant in Variant::ALL.into_iter().filter(|v| v.has_admin()) {
        let db = TestDb::new(variant).await;
        let (user_id, session) = db.user_with_session().await;
        let auth = authenticator(&db.url, &[]);
        assert!(check(&auth, &session.token).await.is_ok());
        let ban = format!(
            "UPDATE \"{}\" SET {} = true, {} = {} WHERE {} = CAST($2::text AS {})",
            variant.user_table(),
            variant.col("banned"),
            variant.col("banExpires"),
            variant.ts(1),
            variant.col("id"),
            if variant == Variant::RenamedSnakeUuid {
                "uuid"
            } else {
                "text"
            },
        );
        let until = Some(Utc::now() + Duration::hours(1));
        db.execute(&ban, &[&until, &user_id]).await;
        match check(&auth, &session.token).await {
            Err(
                e @ AuthError::Refused {
                    reason: Refusal::Banned,
                    ..
                },
            ) => {
                assert_eq!(e.outcome(), Outcome::Forbidden);
                assert_eq!(e.user_id(), Some(user_id.as_str()));
            }
            other => panic!("{variant:?}: expected banned, got {other:?}"),
        }
        let lapsed = Some(Utc::now() - Duration::seconds(5));
        db.execute(&ban, &[&lapsed, &user_id]).await;
        assert!(
            check(&auth, &session.token).await.is_ok(),
            "{variant:?}: an expired ban does not count"
        );
        let permanent: Option<chrono::DateTime<Utc>> = None;
        db.execute(&ban, &[&permanent, &user_id]).await;
        assert_eq!(
            refusal(check(&auth, &session.token).await),
            Refusal::Banned,
            "{variant:?}"
        );
    }
}

#[tokio::test]
async fn naive_timestamps_are_utc_whatever_the_server_time_zone() {
    for variant in [
        Variant::DrizzleNaive,
        Variant::PrismaNaive,
        Variant::Default,
    ] {
        let db = TestDb::new(variant).await;
        let user_id = db.create_user(&NewUser::new("tz@example.com")).await;
        let soon = (Utc::now() + Duration::minutes(20)).trunc_subsecs(3);
        let session = db.create_session(&user_id, soon).await;
        let past = db
            .create_session(&user_id, Utc::now() - Duration::minutes(20))
            .await;
        for zone in ["Pacific/Kiritimati", "Pacific/Pago_Pago", "UTC"] {
            let url = format!("{}%20-c%20TimeZone%3D{}", db.url, zone.replace('/', "%2F"));
            let auth = authenticator(&url, &[]);
            let identity = check(&auth, &session.token)
                .await
                .unwrap_or_else(|e| panic!("{variant:?} {zone}: {e}"));
            assert_eq!(identity.expires_at, Some(soon), "{variant:?} {zone}");
            assert_eq!(
                refusal(check(&auth, &past.token).await),
                Refusal::Expired,
                "{variant:?} {zone}"
            );
        }
    }
}

#[tokio::test]
async fn explicit_overrides_map_any_names() {
    let db = TestDb::new(Variant::Default).await;
    db.client
        .batch_execute(
            "CREATE TABLE members (member_id text primary key, name text not null, mail text not null, verified boolean not null);
             CREATE TABLE logins (id text primary key, token text not null unique, member text not null references members, valid_until timestamptz not null);
             INSERT INTO members VALUES ('m1', 'Member', 'm@example.com', true);
             INSERT INTO logins VALUES ('l1', 'tokenOfMemberOne000000000000000A', 'm1', now() + interval '1 hour');",
        )
        .await
        .expect("custom tables");
    let auth = authenticator(
        &db.url,
        &[
            ("BETTER_AUTH_USER_TABLE", "members"),
            ("BETTER_AUTH_SESSION_TABLE", "logins"),
            (
                "BETTER_AUTH_USER_FIELDS",
                "id=member_id,email=mail,emailVerified=verified",
            ),
            (
                "BETTER_AUTH_SESSION_FIELDS",
                "userId=member,expiresAt=valid_until",
            ),
            ("BETTER_AUTH_DB_SCHEMA", &db.schema),
        ],
    );
    let identity = check(&auth, "tokenOfMemberOne000000000000000A")
        .await
        .expect("valid");
    assert_eq!(
        (
            identity.user_id.as_deref().unwrap_or_default(),
            identity.email.as_str()
        ),
        ("m1", "m@example.com")
    );
}

#[tokio::test]
async fn a_database_that_does_not_fit_is_named_clearly_and_never_allows() {
    let db = TestDb::new(Variant::Default).await;
    db.client
        .batch_execute("DROP TABLE session CASCADE")
        .await
        .expect("drop");
    let auth = authenticator(&db.url, &[]);
    match check(&auth, &test_support::random_token(32)).await {
        Err(AuthError::Store(StoreError::Schema(e))) => {
            let message = e.to_string();
            assert!(message.contains("no session table"), "{message}");
            assert!(message.contains("BETTER_AUTH_SESSION_TABLE"), "{message}");
        }
        other => panic!("expected a schema error, got {other:?}"),
    }
    let db = TestDb::new(Variant::Default).await;
    db.client
        .batch_execute("ALTER TABLE session RENAME COLUMN \"expiresAt\" TO valid_until")
        .await
        .expect("rename");
    let auth = authenticator(&db.url, &[]);
    let err = check(&auth, &test_support::random_token(32))
        .await
        .expect_err("mismatch");
    assert_eq!(err.outcome(), Outcome::Unavailable);
    assert!(err.to_string().contains("session.expiresAt"), "{err}");
}

#[tokio::test]
async fn works_without_named_prepared_statements() {
    let db = TestDb::new(Variant::Default).await;
    let (_, session) = db.user_with_session().await;
    let auth = authenticator(&db.url, &[("DATABASE_PREPARED_STATEMENTS", "false")]);
    for _ in 0..3 {
        assert!(check(&auth, &session.token).await.is_ok());
    }
    let named: i64 = db
        .client
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'better-auth-lambda'",
            &[],
        )
        .await
        .expect("count")
        .get(0);
    assert!(named >= 1, "the pool's connection is open");
}

#[tokio::test]
async fn a_connection_killed_between_requests_is_replaced() {
    let db = TestDb::new(Variant::Default).await;
    let (_, session) = db.user_with_session().await;
    let app = format!("killed-{}", db.schema);
    let url = format!("{}&application_name={app}", db.url);
    // Verification of idle connections is off (huge threshold): the retry alone must cope.
    let auth = authenticator(&url, &[("DATABASE_VERIFY_IDLE_AFTER_MS", "3600000")]);
    assert!(check(&auth, &session.token).await.is_ok());
    let killed: i64 = db
        .client
        .query_one(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1) t",
            &[&app],
        )
        .await
        .expect("terminate")
        .get(0);
    assert_eq!(killed, 1);
    tokio::time::sleep(StdDuration::from_millis(100)).await;
    assert!(
        check(&auth, &session.token).await.is_ok(),
        "the next request still gets a correct answer"
    );
}

#[tokio::test]
async fn an_idle_connection_is_verified_before_use() {
    let db = TestDb::new(Variant::Default).await;
    let (_, session) = db.user_with_session().await;
    let app = format!("idle-{}", db.schema);
    let url = format!("{}&application_name={app}", db.url);
    let auth = authenticator(&url, &[("DATABASE_VERIFY_IDLE_AFTER_MS", "0")]);
    assert!(check(&auth, &session.token).await.is_ok());
    db.client
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
            &[&app],
        )
        .await
        .expect("terminate");
    tokio::time::sleep(StdDuration::from_millis(100)).await;
    assert!(check(&auth, &session.token).await.is_ok());
}

#[tokio::test]
async fn a_blocked_query_times_out_and_refuses() {
    let db = TestDb::new(Variant::Default).await;
    let (_, session) = db.user_with_session().await;
    let auth = authenticator(&db.url, &[("DATABASE_STATEMENT_TIMEOUT_MS", "300")]);
    assert!(
        check(&auth, &session.token).await.is_ok(),
        "warm up: layout detected"
    );
    // Another connection holds an exclusive lock on the session table.
    let (locker, connection) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(connection);
    locker
        .batch_execute("BEGIN; LOCK TABLE session IN ACCESS EXCLUSIVE MODE")
        .await
        .expect("lock");
    let started = Instant::now();
    let result = check(&auth, &session.token).await;
    let waited = started.elapsed();
    assert!(
        matches!(result, Err(AuthError::Store(StoreError::Timeout(_)))),
        "{result:?}"
    );
    assert!(
        waited < StdDuration::from_secs(5),
        "the timeout held ({waited:?})"
    );
    locker.batch_execute("ROLLBACK").await.expect("unlock");
    assert!(
        check(&auth, &session.token).await.is_ok(),
        "recovers once the lock is gone"
    );
}

/// Warm-up at start-up opens the connection, detects the schema and prepares the lookup, so the
/// first request reuses all three; against a database that is not there it fails quietly and
/// the first request fails closed on its own.
#[tokio::test]
async fn warm_up_connects_at_start_up_and_a_missing_database_changes_nothing() {
    let db = TestDb::new(Variant::Default).await;
    let user_id = db.create_user(&NewUser::new("warm@example.com")).await;
    let session = db
        .create_session(&user_id, Utc::now() + Duration::minutes(30))
        .await;
    let auth = authenticator(&db.url, &[]);
    assert_eq!(auth.database().pool().status().size, 0, "lazy until asked");
    auth.database().warm_up().await.expect("warm-up");
    assert_eq!(
        auth.database().pool().status().size,
        1,
        "connected at start-up"
    );
    let identity = check(&auth, &session.token).await.expect("a valid session");
    assert_eq!(identity.user_id, Some(user_id));
    assert_eq!(
        auth.database().pool().status().size,
        1,
        "the first request reused the warm connection"
    );

    let nowhere = authenticator(
        "postgres://nobody@127.0.0.1:1/none",
        &[("DATABASE_CONNECT_TIMEOUT_MS", "200")],
    );
    let started = Instant::now();
    nowhere
        .warm_up()
        .await
        .expect("an unreachable database is left to the first request");
    assert!(started.elapsed() < StdDuration::from_secs(5));
    assert!(matches!(
        check(&nowhere, &session.token).await,
        Err(AuthError::Store(
            StoreError::Unavailable(_) | StoreError::Timeout(_)
        ))
    ));
}

/// A cookie lookup signed with the shared `TEST_SECRET` (what the tests from the security review
/// use).
async fn lookup(
    auth: &auth_core::Authenticator,
    token: &str,
) -> Result<auth_core::Authenticated, AuthError> {
    test_support::authenticate_cookie(auth, TEST_SECRET, token).await
}

/// Security review finding (issue 13; this test failed before its fix): a ban or revocation column
/// mapped to a name that does not exist is a schema error naming the setting, never a session
/// let through; `BETTER_AUTH_REQUIRE_ADMIN_COLUMNS` makes missing ban columns an error.
#[tokio::test]
async fn a_ban_column_mapped_with_a_typo_fails_closed() {
    let db = TestDb::new(Variant::Default).await;
    let mut user = NewUser::new("banned@example.com");
    user.banned = Some(true);
    let id = db.create_user(&user).await;
    let session = db
        .create_session(&id, Utc::now() + Duration::hours(1))
        .await;
    for (var, value) in [
        ("BETTER_AUTH_USER_FIELDS", "banned=is_banned"),
        ("BETTER_AUTH_SESSION_FIELDS", "revoked=revokd"),
    ] {
        let auth = test_support::authenticator(&db.url, TEST_SECRET, &[(var, value)]);
        match lookup(&auth, &session.token).await {
            Err(AuthError::Store(StoreError::Schema(error))) => {
                assert!(error.to_string().contains(var), "{error}");
            }
            other => panic!("{var}={value}: expected a schema error, got {other:?}"),
        }
    }
    let lax = TestDb::new(Variant::NoAdmin).await;
    let (_, live) = lax.user_with_session().await;
    let strict = test_support::authenticator(
        &lax.url,
        TEST_SECRET,
        &[("BETTER_AUTH_REQUIRE_ADMIN_COLUMNS", "true")],
    );
    let error = lookup(&strict, &live.token)
        .await
        .expect_err("no ban columns");
    assert_eq!(error.outcome(), Outcome::Unavailable, "{error}");
    let default = test_support::authenticator(&lax.url, TEST_SECRET, &[]);
    assert!(lookup(&default, &live.token).await.is_ok());
}

/// Security review finding (issue 13; this test failed before its fix): ban columns added
/// after a warm start (the admin plugin installed later) are read within
/// `BETTER_AUTH_SCHEMA_REFRESH_SECONDS`.
#[tokio::test]
async fn a_ban_column_added_after_a_warm_start_is_honoured_within_the_refresh() {
    let db = TestDb::new(Variant::NoAdmin).await;
    let (user, session) = db.user_with_session().await;
    let auth = test_support::authenticator(
        &db.url,
        TEST_SECRET,
        &[("BETTER_AUTH_SCHEMA_REFRESH_SECONDS", "1")],
    );
    assert!(lookup(&auth, &session.token).await.is_ok(), "warm");
    db.execute(
        "ALTER TABLE \"user\" ADD COLUMN \"banned\" boolean, ADD COLUMN \"banExpires\" timestamptz",
        &[],
    )
    .await;
    db.set_banned(&user, true).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    match lookup(&auth, &session.token).await {
        Err(AuthError::Refused { reason, .. }) => assert_eq!(reason, Refusal::Banned),
        other => panic!("expected the new ban column to be read, got {other:?}"),
    }
}

/// Security review finding (issue 13; this test failed before its fix): no session token reaches the
/// logs at any level, the database driver's trace included.
#[tokio::test]
async fn no_token_reaches_the_logs_at_any_level() {
    let db = TestDb::new(Variant::Default).await;
    let (_, session) = db.user_with_session().await;
    for rust_log in [
        "trace",
        "debug",
        "info,tokio_postgres=trace",
        "trace,postgres_protocol=trace",
    ] {
        let (guard, logs) = test_support::logs::capture_at(rust_log);
        let auth = test_support::authenticator(&db.url, TEST_SECRET, &[]);
        assert!(lookup(&auth, &session.token).await.is_ok());
        drop(guard);
        let text = logs.text();
        assert!(
            !text.is_empty(),
            "{rust_log}: something is logged at this level"
        );
        assert!(
            !text.contains(&session.token),
            "{rust_log}: the token was logged"
        );
    }
}
