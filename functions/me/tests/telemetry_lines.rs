//! Issue 24 §3/§4 for the account functions, through lambda_runtime's real code path: the `me`
//! binary, run against a stand-in for the Lambda Runtime API, writes its request's line with
//! the invocation's X-Ray trace id and request id and, with `METRICS_ENABLED`, a CloudWatch EMF
//! record checked against the specification. (`users` and `sessions` write the same line:
//! `account_api::http::serve`.)

use serde_json::Value;
use test_support::runtime_api::{REQUEST_ID, TRACE_ID, run_once};

/// API Gateway's REST proxy event (`events/api-rest.json`) for `path`.
fn rest_event(method: &str, path: &str) -> String {
    let mut event: Value =
        serde_json::from_str(include_str!("../../../events/api-rest.json")).expect("event");
    event["httpMethod"] = method.into();
    event["path"] = path.into();
    event["resource"] = path.into();
    event["body"] = Value::Null;
    event["requestContext"]["httpMethod"] = method.into();
    event["requestContext"]["resourcePath"] = path.into();
    event.to_string()
}

#[test]
fn the_request_line_carries_the_trace_id_and_an_emf_record() {
    let settings = [
        // Nothing listens on port 9: these routes need no database.
        ("DATABASE_URL", "postgres://u@127.0.0.1:9/none"),
        ("DATABASE_CONNECT_TIMEOUT_MS", "200"),
        (
            "BETTER_AUTH_SECRET",
            "telemetry-test-secret-0123456789abcdefghij",
        ),
        ("METRICS_ENABLED", "true"),
        ("METRICS_NAMESPACE", "Test/Account"),
    ];
    for (method, path, status, class) in [
        ("GET", "/health", 200, "2xx"),
        ("GET", "/auth/me", 401, "4xx"),
    ] {
        let run = run_once(
            env!("CARGO_BIN_EXE_me"),
            "me-fn",
            &settings,
            &rest_event(method, path),
        );
        let logs = &run.logs;
        assert!(run.answer.contains(REQUEST_ID), "{}", run.answer);
        let records = test_support::emf::records(logs);
        let [(line, record)] = records.as_slice() else {
            panic!("one record expected, {} found: {logs}", records.len());
        };
        assert_eq!(line["status"], status, "{line}");
        assert_eq!(line["trace_id"], TRACE_ID, "{line}");
        assert_eq!(line["request_id"], REQUEST_ID, "{line}");
        assert_eq!(line["function"], "me-fn", "{line}");
        assert_eq!(line["status_class"], class, "{line}");
        assert!(record.namespaces.iter().all(|n| n == "Test/Account"));
        assert_eq!(record.value("Requests"), Some(1.0), "{line}");
        assert_eq!(record.value("ColdStarts"), Some(1.0), "{line}");
        assert_eq!(
            record.value("Latency"),
            line["latency_us"].as_f64(),
            "{line}"
        );
        let sets: Vec<String> = record.dimension_sets.iter().map(|s| s.join(",")).collect();
        assert!(sets.contains(&"function".to_owned()), "{sets:?}");
        assert!(
            sets.contains(&"function,status_class".to_owned()),
            "{sets:?}"
        );
        assert!(
            sets.iter()
                .all(|s| s == "function" || s == "function,status_class"),
            "only low-cardinality dimensions: {sets:?}"
        );
        // Every line written inside the invocation carries its trace id.
        for text in logs.lines().filter(|l| l.contains(REQUEST_ID)) {
            let value: Value = serde_json::from_str(text).expect(text);
            assert_eq!(value["trace_id"], TRACE_ID, "{text}");
        }
    }
}
