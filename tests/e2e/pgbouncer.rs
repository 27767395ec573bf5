//! The authorizer through PgBouncer in transaction-pooling mode (Debian's pgbouncer; Neon's
//! pooled endpoints and many RDS set-ups work this way): server connections are shared between
//! clients statement by statement, so named prepared statements do not survive. With the
//! documented settings, and with the defaults too (named statements fall back by themselves),
//! every answer is right. The functions' routes are covered in openapi.rs.

use std::sync::Arc;

use auth_core::signing::{Secret, sign_cookie_value};
use authorizer::handler::{AuthorizerError, handle_json as handle};
use lambda_runtime::{Context, LambdaEvent};
use test_support::events::{Shape, event};
use test_support::pgbouncer::PgBouncer;
use test_support::{TEST_DATABASE, TestDb, Variant};

const SECRET: &str = "bouncer-test-secret-0123456789abcdefghijk";

async fn authorize_many(db: &TestDb, bouncer: &PgBouncer, prepared: &str) {
    let (user, session) = db.user_with_session().await;
    let url = bouncer.url_for(&test_support::server_url(), TEST_DATABASE);
    let settings = [
        ("BETTER_AUTH_DB_SCHEMA", db.schema.as_str()),
        ("DATABASE_SERVER_STATEMENT_TIMEOUT", "false"),
        ("DATABASE_PREPARED_STATEMENTS", prepared),
    ];
    // Four containers, four requests in flight each, sharing two server connections.
    let mut tasks = Vec::new();
    for c in 0..4 {
        let auth = Arc::new(test_support::authenticator(&url, SECRET, &settings));
        for w in 0..4 {
            let (auth, user, token) = (Arc::clone(&auth), user.clone(), session.token.clone());
            tasks.push(tokio::spawn(async move {
                let mut outcomes = Vec::new();
                for i in 0..50 {
                    let (token, expect_allow) = if (i + w + c) % 5 == 0 {
                        (test_support::random_token(32), false)
                    } else {
                        (token.clone(), true)
                    };
                    let cookie = format!(
                        "better-auth.session_token={}",
                        sign_cookie_value(&Secret::new(SECRET), &token)
                    );
                    let payload = event(Shape::HttpV2, None, Some(&cookie));
                    let answer = handle(&auth, LambdaEvent::new(payload, Context::default())).await;
                    let right = match (&answer, expect_allow) {
                        (Ok(v), true) => {
                            v["isAuthorized"] == true && v["context"]["userId"] == user
                        }
                        (Ok(v), false) => v["isAuthorized"] == false,
                        (Err(AuthorizerError::Unauthorized | AuthorizerError::Internal), _) => {
                            false
                        }
                    };
                    outcomes.push((right, format!("{answer:?}")));
                }
                outcomes
            }));
        }
    }
    let mut checked = 0;
    for task in tasks {
        for (right, answer) in task.await.expect("worker") {
            assert!(
                right,
                "prepared statements {prepared}: {answer}\n{}",
                bouncer.log()
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 800);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_authorizer_works_through_pgbouncer_with_unnamed_statements() {
    let db = TestDb::new(Variant::Default).await;
    let bouncer = PgBouncer::start(&test_support::server_url(), 2).await;
    authorize_many(&db, &bouncer, "false").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn named_statements_fall_back_by_themselves_behind_pgbouncer() {
    let db = TestDb::new(Variant::Default).await;
    let bouncer = PgBouncer::start(&test_support::server_url(), 2).await;
    authorize_many(&db, &bouncer, "true").await;
}
