//! OpenTelemetry export (cargo feature `otel`): the tracing spans — the runtime's invocation
//! span, every store round trip ([`super::RoundTrip`]) — exported over OTLP/HTTP (or HTTPS,
//! rustls with the webpki roots) to the collector `OTEL_EXPORTER_OTLP_ENDPOINT` names (the ADOT
//! Lambda layer's `http://localhost:4318`), batched and flushed after each invocation. Off unless
//! that variable (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set: nothing is built, no thread
//! is started.
//!
//! A flush runs after the answer is posted but before the sandbox asks for its next event: a
//! slow collector holds the sandbox. So an export waits [`DEFAULT_TIMEOUT`] at most (unless
//! `OTEL_EXPORTER_OTLP_TIMEOUT` says otherwise), and after a failed flush the next ones are
//! skipped for [`BACKOFF`] (the batch processor's own timer still exports meanwhile).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::registry::LookupSpan;

/// The variables that switch export on (the OTLP exporter reads them itself).
const ENDPOINTS: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
];

/// How long one export may take unless `OTEL_EXPORTER_OTLP_TIMEOUT` says.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);
/// How long flushes are skipped after one failed.
pub const BACKOFF: Duration = Duration::from_secs(30);

/// The span exporter, when export is on.
#[derive(Debug, Clone)]
pub struct Exporter {
    provider: SdkTracerProvider,
    /// When the last flush failed (ms since the epoch; 0: never).
    failed_at_ms: Arc<AtomicI64>,
}

impl Exporter {
    /// The exporter the environment asks for; `None` when no endpoint is set, or when the
    /// exporter cannot be built (said on stderr: the subscriber is not installed yet).
    pub fn from_env() -> Option<Self> {
        let on = ENDPOINTS
            .iter()
            .any(|v| std::env::var_os(v).is_some_and(|value| !value.is_empty()));
        if !on {
            return None;
        }
        let service = std::env::var("OTEL_SERVICE_NAME")
            .or_else(|_| std::env::var("AWS_LAMBDA_FUNCTION_NAME"))
            .unwrap_or_else(|_| "better-auth-lambda".to_owned());
        match Self::build(None, service) {
            Ok(exporter) => Some(exporter),
            Err(error) => {
                eprintln!("OpenTelemetry export is off: the OTLP exporter failed: {error}");
                None
            }
        }
    }

    /// An exporter posting to `traces_url` (`…/v1/traces`) as `service`.
    pub fn to(traces_url: &str, service: &str) -> Result<Self, String> {
        Self::build(Some(traces_url.to_owned()), service.to_owned())
    }

    fn build(traces_url: Option<String>, service: String) -> Result<Self, String> {
        // Built on a thread of its own: its blocking HTTP client may not be made inside the
        // async runtime (it is used only from the batch processor's thread).
        let exporter = std::thread::spawn(move || {
            use opentelemetry_otlp::WithExportConfig as _;
            let mut builder = opentelemetry_otlp::SpanExporter::builder().with_http();
            let timeout_set = [
                "OTEL_EXPORTER_OTLP_TIMEOUT",
                "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
            ]
            .iter()
            .any(|v| std::env::var_os(v).is_some());
            if !timeout_set {
                builder = builder.with_timeout(DEFAULT_TIMEOUT);
            }
            if let Some(url) = traces_url {
                builder = builder.with_endpoint(url);
            }
            builder.build().map_err(|e| e.to_string())
        })
        .join()
        .unwrap_or_else(|_| Err("the exporter's thread panicked".to_owned()))?;
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(Resource::builder().with_service_name(service).build())
            .build();
        Ok(Self {
            provider,
            failed_at_ms: Arc::default(),
        })
    }

    /// The `tracing` layer that turns spans into OpenTelemetry spans.
    pub fn layer<S>(
        &self,
    ) -> tracing_opentelemetry::OpenTelemetryLayer<S, opentelemetry_sdk::trace::Tracer>
    where
        S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    {
        tracing_opentelemetry::layer().with_tracer(self.provider.tracer("better-auth-lambda"))
    }

    /// Exports what is buffered (after each invocation: a Lambda sandbox is frozen between
    /// them), unless a flush failed less than [`BACKOFF`] ago. A failure is logged, never an
    /// error of the invocation.
    pub fn flush(&self) {
        let now = chrono::Utc::now().timestamp_millis();
        let failed_at = self.failed_at_ms.load(Ordering::Relaxed);
        if failed_at != 0 && now - failed_at < BACKOFF.as_millis() as i64 {
            return;
        }
        if let Err(error) = self.provider.force_flush() {
            self.failed_at_ms.store(now, Ordering::Relaxed);
            tracing::warn!(
                error = %error,
                "OpenTelemetry export: flush failed; flushes skipped for {} s",
                BACKOFF.as_secs()
            );
        }
    }
}
