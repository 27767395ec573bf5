//! Issue 24 §4, through the real binary: built with the `otel` feature (the workspace's test
//! build is: `tests/Cargo.toml` asks for it) and run with `OTEL_EXPORTER_OTLP_ENDPOINT`, the
//! authorizer exports its spans to that collector through lambda_runtime's OpenTelemetry layer,
//! flushed after the invocation — the runtime's invocation span with its request id and X-Ray
//! trace id, and the session lookup's PostgreSQL round trip (with `RUST_LOG=info`, as the
//! template sets it), under the function's service name. (The OpenTelemetry layer's own FaaS
//! span closes after its flush: it leaves with the next invocation's.)
#![cfg(feature = "otel")]

use std::time::Duration;

use test_support::otlp::Collector;
use test_support::runtime_api::{REQUEST_ID, TRACE_ID, run_once};

#[test]
fn the_binary_exports_its_invocation_span_when_an_endpoint_is_set() {
    let collector = Collector::start();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let db = runtime.block_on(test_support::TestDb::new(test_support::Variant::Default));
    let event = serde_json::json!({
        "type": "TOKEN",
        "authorizationToken": "Bearer NoSuchSessionTokenOtel0123456789",
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:s4x3opwd6i/prod/GET/auth/me",
    })
    .to_string();
    let run = run_once(
        env!("CARGO_BIN_EXE_authorizer"),
        "otel-authorizer",
        &[
            ("DATABASE_URL", db.url.as_str()),
            (
                "BETTER_AUTH_SECRET",
                "otel-export-test-secret-0123456789abcdefghij",
            ),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint.as_str()),
            // As the template sets it: the round-trip spans are added all the same.
            ("RUST_LOG", "info"),
        ],
        &event,
    );
    assert!(run.answer.contains(REQUEST_ID), "{}", run.answer);
    collector
        .wait_for(
            "/v1/traces",
            &[
                b"otel-authorizer",
                b"Lambda runtime invoke",
                REQUEST_ID.as_bytes(),
                TRACE_ID.as_bytes(),
                b"postgres",
                b"db.system",
            ],
            Duration::from_secs(10),
        )
        .unwrap_or_else(|e| {
            let all = collector.bodies("/v1/traces").concat();
            panic!(
                "no invocation span exported: {e}\n{}\n{}",
                String::from_utf8_lossy(&all),
                run.logs
            )
        });
    // What left for the collector holds no credential, secret or database URL…
    let exported = collector.bodies("/v1/traces").concat();
    for secret in [
        &b"NoSuchSessionTokenOtel0123456789"[..],
        b"otel-export-test-secret",
        db.url.as_bytes(),
    ] {
        assert!(
            !exported.windows(secret.len()).any(|w| w == secret),
            "{} was exported",
            String::from_utf8_lossy(secret)
        );
    }
    // …and the log lines still carry the invocation's trace and request ids.
    assert!(
        run.logs.contains(&format!("\"trace_id\":\"{TRACE_ID}\"")),
        "{}",
        run.logs
    );
}
