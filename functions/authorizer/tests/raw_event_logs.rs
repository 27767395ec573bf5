//! Issue 27 F3, through lambda_runtime's real code path: the authorizer binary, run with
//! `RUST_LOG=trace` against a minimal stand-in for the Lambda Runtime API, answers an event
//! carrying a credential and never writes that credential (lambda_runtime logs the raw event
//! body at `trace` in `layers::api_response`).

use test_support::runtime_api::{REQUEST_ID, TRACE_ID, run_once};

const SECRET_TOKEN: &str = "RawEventSecretToken0123456789xyZ";

/// The settings of these runs: no database listens on port 9, so the lookup fails fast and the
/// event is answered all the same (an error).
const SETTINGS: [(&str, &str); 4] = [
    ("DATABASE_URL", "postgres://u@127.0.0.1:9/none"),
    ("DATABASE_CONNECT_TIMEOUT_MS", "200"),
    (
        "BETTER_AUTH_SECRET",
        "raw-event-test-secret-0123456789abcdefghij",
    ),
    ("BETTER_AUTH_URL", "https://auth.example.com"),
];

fn token_event(authorization: &str) -> String {
    serde_json::json!({
        "type": "TOKEN",
        "authorizationToken": authorization,
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:s4x3opwd6i/prod/GET/auth/me",
    })
    .to_string()
}

#[test]
fn the_runtime_never_writes_the_raw_event_at_rust_log_trace() {
    let mut env = SETTINGS.to_vec();
    env.push(("RUST_LOG", "trace"));
    let run = run_once(
        env!("CARGO_BIN_EXE_authorizer"),
        "authorizer",
        &env,
        &token_event(&format!("Bearer {SECRET_TOKEN}")),
    );
    let (answer, logs) = (run.answer, run.logs);
    assert!(answer.contains(REQUEST_ID), "{answer}");
    assert!(logs.contains("\"level\""), "the binary logs at all: {logs}");
    // The decision's line carries the X-Ray trace id the runtime was handed.
    assert!(
        logs.contains(&format!("\"trace_id\":\"{TRACE_ID}\"")),
        "no trace id on the decision's line: {logs}"
    );
    assert!(
        !logs.contains(SECRET_TOKEN),
        "the token reached the logs: {logs}"
    );
}

/// Issue 24 §3/§4: with `METRICS_ENABLED`, the decision's one line is a CloudWatch EMF record
/// (checked against the specification by `test_support::emf`) with the decision's dimensions,
/// its latency, the cold start and the store failure it met; and it carries the invocation's
/// trace and request ids. Two runs of the real binary: an error (no database) and an
/// unauthorized request (no credential).
#[test]
fn the_decision_line_is_an_emf_record_with_the_trace_id() {
    let mut env = SETTINGS.to_vec();
    env.extend([
        ("METRICS_ENABLED", "true"),
        ("METRICS_NAMESPACE", "Test/Authorizer"),
    ]);
    for (authorization, decision, reason, tally) in [
        (
            format!("Bearer {SECRET_TOKEN}"),
            "error",
            "database_unavailable",
            "StoreErrors",
        ),
        ("Basic dXNlcjpwYXNz".to_owned(), "unauthorized", "", ""),
    ] {
        let run = run_once(
            env!("CARGO_BIN_EXE_authorizer"),
            "authorizer-fn",
            &env,
            &token_event(&authorization),
        );
        let logs = &run.logs;
        assert!(!logs.contains(SECRET_TOKEN), "{logs}");
        let records = test_support::emf::records(logs);
        let [(line, record)] = records.as_slice() else {
            panic!("one record expected, {} found: {logs}", records.len());
        };
        assert_eq!(line["decision"], decision, "{line}");
        assert_eq!(line["function"], "authorizer-fn", "{line}");
        assert_eq!(line["trace_id"], TRACE_ID, "{line}");
        assert_eq!(line["request_id"], REQUEST_ID, "{line}");
        assert!(record.namespaces.iter().all(|n| n == "Test/Authorizer"));
        assert_eq!(record.value("Decisions"), Some(1.0), "{line}");
        assert_eq!(record.value("ColdStarts"), Some(1.0), "{line}");
        assert_eq!(
            record.value("Latency"),
            line["latency_us"].as_f64(),
            "{line}"
        );
        assert!(
            record
                .metrics
                .iter()
                .any(|(name, unit, _)| name == "Latency" && unit == "Microseconds")
        );
        let sets: Vec<String> = record
            .dimension_sets
            .iter()
            .map(|set| set.join(","))
            .collect();
        assert!(sets.contains(&"function".to_owned()), "{sets:?}");
        assert!(sets.contains(&"function,decision".to_owned()), "{sets:?}");
        assert!(
            sets.contains(&"function,decision,reason".to_owned()),
            "{sets:?}"
        );
        if !tally.is_empty() {
            // A refused connection is `database_unavailable`; a slow one may time out instead.
            let timed_out = line["reason"] == "database_timeout";
            let (reason, tally) = if timed_out {
                ("database_timeout", "StoreTimeouts")
            } else {
                (reason, tally)
            };
            assert_eq!(line["reason"], reason, "{line}");
            assert!(record.value(tally).is_some_and(|n| n >= 1.0), "{line}");
        }
        // Low cardinality: no user, session or token among the dimensions.
        for set in &record.dimension_sets {
            for name in set {
                assert!(
                    ["function", "decision", "method", "reason"].contains(&name.as_str()),
                    "{name}"
                );
            }
        }
    }
}
