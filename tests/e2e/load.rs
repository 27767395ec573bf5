//! Load: 50,000 authorizations at concurrency 32, spread over 8 simulated containers (each its
//! own `Authenticator`, so its own pool, as each Lambda sandbox has), with a mix of valid,
//! unknown, forged, expired and banned credentials. Every answer is checked against what it
//! must be, and the server's connection count is sampled throughout.
//!
//! `LOAD_AUTHORIZATIONS` changes the count (default 50000).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, Instant};

use auth_core::signing::{Secret, sign_cookie_value};
use authorizer::handler::{AuthorizerError, handle_json as handle};
use chrono::Utc;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::Value;
use test_support::events::{Shape, event};
use test_support::{NewUser, TestDb, Variant};

const SECRET: &str = "load-test-secret-0123456789abcdefghijklmno";
const CONTAINERS: usize = 8;
const WORKERS_PER_CONTAINER: usize = 4;
const POOL_SIZE: usize = 2;

#[derive(Clone, Debug, PartialEq)]
enum Expect {
    Allow(String),
    Unauthorized,
    Deny,
}

#[derive(Clone)]
struct Case {
    cookie: String,
    expect: Expect,
}

fn cookie(token: &str, secret: &str) -> String {
    format!(
        "better-auth.session_token={}",
        sign_cookie_value(&Secret::new(secret), token)
    )
}

/// The answer's kind; `None` for an error (a 500).
fn verdict(answer: &Result<Value, AuthorizerError>) -> Option<Expect> {
    match answer {
        Ok(v) => match v["policyDocument"]["Statement"][0]["Effect"].as_str() {
            Some("Allow") => Some(Expect::Allow(
                v["principalId"].as_str().unwrap_or_default().to_owned(),
            )),
            _ => Some(Expect::Deny),
        },
        Err(AuthorizerError::Unauthorized) => Some(Expect::Unauthorized),
        Err(AuthorizerError::Internal) => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_thousand_authorizations_over_eight_containers() {
    let total: usize = std::env::var("LOAD_AUTHORIZATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50_000);
    let db = TestDb::new(Variant::Default).await;
    let mut cases = Vec::new();
    for i in 0..40 {
        let mut user = NewUser::new(&format!("load{i}@example.com"));
        if i % 10 == 9 {
            user.banned = Some(true);
        }
        let id = db.create_user(&user).await;
        let live = db
            .create_session(&id, Utc::now() + chrono::Duration::days(1))
            .await;
        let expired = db
            .create_session(&id, Utc::now() - chrono::Duration::minutes(1))
            .await;
        let expect = if i % 10 == 9 {
            Expect::Deny
        } else {
            Expect::Allow(id.clone())
        };
        // Weighted: mostly valid traffic, and every kind of refusal.
        for _ in 0..6 {
            cases.push(Case {
                cookie: cookie(&live.token, SECRET),
                expect: expect.clone(),
            });
        }
        cases.push(Case {
            cookie: cookie(&expired.token, SECRET),
            expect: Expect::Unauthorized,
        });
        cases.push(Case {
            cookie: cookie(&live.token, "a-forged-secret-0123456789abcdefghijklmn"),
            expect: Expect::Unauthorized,
        });
        cases.push(Case {
            cookie: cookie(&test_support::random_token(32), SECRET),
            expect: Expect::Unauthorized,
        });
    }
    let cases = Arc::new(cases);
    let app = format!("load-{}", db.schema);
    let url = format!("{}&application_name={app}", db.url);

    // Sample the server's connections for this test while the load runs.
    let done = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicI64::new(0));
    let sampler = {
        let (client, connection) = tokio_postgres::connect(&db.database_url, tokio_postgres::NoTls)
            .await
            .expect("sampler connection");
        tokio::spawn(connection);
        let (done, peak, app) = (Arc::clone(&done), Arc::clone(&peak), app.clone());
        tokio::spawn(async move {
            while !done.load(Ordering::SeqCst) {
                let n: i64 = client
                    .query_one(
                        "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                        &[&app],
                    )
                    .await
                    .map(|r| r.get(0))
                    .unwrap_or(0);
                peak.fetch_max(n, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };

    let started = Instant::now();
    let mut tasks = Vec::new();
    let per_worker = total.div_ceil(CONTAINERS * WORKERS_PER_CONTAINER);
    for c in 0..CONTAINERS {
        let auth = Arc::new(test_support::authenticator(
            &url,
            SECRET,
            &[("DATABASE_POOL_MAX_SIZE", &POOL_SIZE.to_string())],
        ));
        for w in 0..WORKERS_PER_CONTAINER {
            let (auth, cases) = (Arc::clone(&auth), Arc::clone(&cases));
            tasks.push(tokio::spawn(async move {
                let (mut wrong, mut errors, mut done) = (Vec::new(), 0usize, 0usize);
                for i in 0..per_worker {
                    let case = &cases[(i * 7 + w * 13 + c * 31) % cases.len()];
                    let payload = event(Shape::RestRequest, None, Some(&case.cookie));
                    let answer = handle(&auth, LambdaEvent::new(payload, Context::default())).await;
                    match verdict(&answer) {
                        Some(got) if got == case.expect => {}
                        Some(got) => wrong.push((case.expect.clone(), got)),
                        None => errors += 1,
                    }
                    done += 1;
                }
                (wrong, errors, done)
            }));
        }
    }
    let (mut wrong, mut errors, mut answered) = (Vec::new(), 0, 0);
    for task in tasks {
        let (w, e, d) = task.await.expect("worker");
        wrong.extend(w);
        errors += e;
        answered += d;
    }
    let elapsed = started.elapsed();
    done.store(true, Ordering::SeqCst);
    sampler.await.expect("sampler");
    let peak = peak.load(Ordering::SeqCst);
    println!(
        "load: {answered} authorizations, {} containers x {} workers, pool {POOL_SIZE}: {:.1} s, {:.0}/s, wrong {}, errors {errors}, peak connections {peak}",
        CONTAINERS,
        WORKERS_PER_CONTAINER,
        elapsed.as_secs_f64(),
        answered as f64 / elapsed.as_secs_f64(),
        wrong.len()
    );
    assert!(answered >= total);
    assert!(
        wrong.is_empty(),
        "wrong answers: {:?}",
        &wrong[..wrong.len().min(5)]
    );
    assert_eq!(errors, 0, "no errors under load");
    assert!(peak >= 1, "the sampler saw the pools' connections");
    assert!(
        peak <= (CONTAINERS * POOL_SIZE) as i64,
        "connections bounded by containers x pool size: {peak}"
    );
}
