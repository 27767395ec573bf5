//! Issue 24 §4: with the `otel` feature and an OTLP endpoint, the tracing spans — the store
//! round trips among them — are exported over OTLP/HTTP. A collector stand-in (a listener
//! that keeps what is posted to it) receives them after a flush, as the runtime's
//! OpenTelemetry layer flushes after each invocation.

use std::time::Duration;

use auth_core::telemetry::otel::Exporter;
use test_support::otlp::Collector;
use tracing_subscriber::layer::SubscriberExt as _;

#[tokio::test]
async fn round_trip_spans_are_exported_over_otlp() {
    let collector = Collector::start();
    let exporter = Exporter::to(
        &format!("{}/v1/traces", collector.endpoint),
        "telemetry-export-test",
    )
    .expect("an exporter");
    const SECRET: &str = "telemetry-export-test-secret-0123456789abcdef";
    let db = test_support::TestDb::new(test_support::Variant::Default).await;
    let auth = test_support::authenticator(&db.url, SECRET, &[]);
    {
        // This test's spans only (a subscriber for this thread): the authentication's
        // PostgreSQL round trip, inside a span of the test's own.
        let subscriber = tracing_subscriber::registry().with(exporter.layer());
        let _default = tracing::subscriber::set_default(subscriber);
        let span = tracing::info_span!("telemetry-export-invocation");
        let _entered = span.enter();
        let unknown =
            test_support::authenticate_cookie(&auth, SECRET, "NoSuchSessionToken0123456789abcd")
                .await;
        assert!(unknown.is_err(), "an unknown session");
    }
    exporter.flush();
    collector
        .wait_for(
            "/v1/traces",
            &[
                b"postgres",
                b"telemetry-export-invocation",
                b"telemetry-export-test",
                b"db.system",
                b"postgresql",
            ],
            Duration::from_secs(10),
        )
        .unwrap_or_else(|e| panic!("the round trip's span was not exported: {e}"));
    // Never the token, the secret or where the database is.
    let exported = collector.bodies("/v1/traces").concat();
    for secret in [
        &b"NoSuchSessionToken0123456789abcd"[..],
        SECRET.as_bytes(),
        db.url.as_bytes(),
    ] {
        assert!(
            !exported.windows(secret.len()).any(|w| w == secret),
            "{} was exported",
            String::from_utf8_lossy(secret)
        );
    }
}
