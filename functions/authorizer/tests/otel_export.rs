//! Issue 24 §4, through the real binary: built with the `otel` feature (the workspace's test
//! build is: `tests/Cargo.toml` asks for it) and run with `OTEL_EXPORTER_OTLP_ENDPOINT`, the
//! authorizer exports its spans to that collector through lambda_runtime's OpenTelemetry layer,
//! flushed after the invocation — the runtime's invocation span, named after the function,
//! with its request id and trigger.
#![cfg(feature = "otel")]

use std::time::Duration;

use test_support::otlp::Collector;
use test_support::runtime_api::{REQUEST_ID, run_once};

#[test]
fn the_binary_exports_its_invocation_span_when_an_endpoint_is_set() {
    let collector = Collector::start();
    let event = serde_json::json!({
        "type": "TOKEN",
        "authorizationToken": "Basic dXNlcjpwYXNz",
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:s4x3opwd6i/prod/GET/auth/me",
    })
    .to_string();
    let run = run_once(
        env!("CARGO_BIN_EXE_authorizer"),
        "otel-authorizer",
        &[
            ("DATABASE_URL", "postgres://u@127.0.0.1:9/none"),
            ("DATABASE_CONNECT_TIMEOUT_MS", "200"),
            (
                "BETTER_AUTH_SECRET",
                "otel-export-test-secret-0123456789abcdefghij",
            ),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint.as_str()),
        ],
        &event,
    );
    assert!(run.answer.contains(REQUEST_ID), "{}", run.answer);
    collector
        .wait_for(
            "/v1/traces",
            &[b"otel-authorizer", REQUEST_ID.as_bytes(), b"faas.trigger"],
            Duration::from_secs(10),
        )
        .unwrap_or_else(|e| panic!("no invocation span exported: {e}\n{}", run.logs));
}
