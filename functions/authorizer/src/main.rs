//! Wires configuration, the (lazy) database pool and the handler. Nothing else lives here.
// The handler's future nests the store's (PostgreSQL, then Redis) futures unboxed: deeper than
// the default layout query limit.
#![recursion_limit = "256"]

use std::sync::Arc;

use auth_core::Authenticator;
use authorizer::event::AuthorizerPayload;
use lambda_runtime::{LambdaEvent, service_fn};

// One event at a time per sandbox: a single-threaded runtime keeps the database round trip on
// one thread (no cross-thread wake-ups; measured by `make bench`).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let telemetry = auth_core::telemetry::init_with_span_export();
    let config = auth_core::aws::config_from_env()
        .await
        .inspect_err(|e| tracing::error!(error = %e, "invalid configuration"))?;
    let auth = Arc::new(Authenticator::new(&config)?);
    authorizer::event::configure(auth.extra_headers());
    authorizer::event::configure_dpop(auth.reads_dpop());
    // Connect and detect the schema during init, so the first invocation costs one query.
    auth.warm_up().await.inspect_err(
        |e| tracing::error!(error = %e, "the database does not fit the configuration"),
    )?;
    let service = service_fn(move |event: LambdaEvent<AuthorizerPayload>| {
        let auth = Arc::clone(&auth);
        async move { authorizer::handler::handle(&auth, event).await }
    });
    // With span export on (feature `otel`, OTEL_EXPORTER_OTLP_ENDPOINT), the runtime's
    // OpenTelemetry layer flushes the spans after each invocation.
    #[cfg(feature = "otel")]
    if let Some(flush) = telemetry.flush_hook() {
        return lambda_runtime::Runtime::new(service)
            .layer(lambda_runtime::layers::TracingLayer::new())
            .layer(lambda_runtime::layers::OpenTelemetryLayer::new(move || {
                flush()
            }))
            .run()
            .await;
    }
    let _ = telemetry;
    lambda_runtime::run(service).await
}
