//! Logging set-up and the token fingerprint that logs may carry instead of a token.

mod line;
pub mod metrics;
#[cfg(feature = "otel")]
pub mod otel;

use sha2::{Digest, Sha256};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// The first 12 hex characters of SHA-256 of a token: enough to correlate log lines, useless to
/// an attacker. Logs carry this, never a token.
pub fn fingerprint(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    hex::encode(&digest[..6])
}

/// What [`init_with_span_export`] set up besides the log lines: with the `otel` feature and
/// `OTEL_EXPORTER_OTLP_ENDPOINT`, the span exporter, which the runtime flushes after each
/// invocation ([`Telemetry::flush_hook`]).
#[derive(Debug, Default)]
#[must_use = "the runtime must flush the exported spans after each invocation"]
pub struct Telemetry {
    #[cfg(feature = "otel")]
    exporter: Option<otel::Exporter>,
}

impl Telemetry {
    /// What to call after each invocation, when spans are exported: for the runtime's
    /// `OpenTelemetryLayer`. `None` without export.
    pub fn flush_hook(&self) -> Option<std::sync::Arc<dyn Fn() + Send + Sync>> {
        #[cfg(feature = "otel")]
        if let Some(exporter) = self.exporter.clone() {
            return Some(std::sync::Arc::new(move || exporter.flush()));
        }
        None
    }
}

/// Installs the tracing subscriber once: JSON lines inside Lambda (CloudWatch), compact text
/// elsewhere. `RUST_LOG` filters (default `info`). Safe to call more than once.
pub fn init() {
    let in_lambda = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
    // Already installed (tests, or a second call): keep the first.
    if in_lambda {
        drop(tracing::subscriber::set_global_default(json_subscriber(
            std::io::stdout,
        )));
    } else {
        drop(
            tracing_subscriber::fmt()
                .with_env_filter(filter())
                .with_target(false)
                .compact()
                .finish()
                .with(quiet_targets())
                .try_init(),
        );
    }
}

/// [`init`], and inside Lambda with the `otel` feature and `OTEL_EXPORTER_OTLP_ENDPOINT` set,
/// the span exporter too (the round-trip spans then on: `auth_core::round_trip=debug` is added
/// to `RUST_LOG`). What a function that wires the runtime's flush calls (the authorizer).
pub fn init_with_span_export() -> Telemetry {
    #[cfg(feature = "otel")]
    if std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some()
        && let Some(exporter) = otel::Exporter::from_env()
    {
        let mut rust_log = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".to_owned());
        if !rust_log.contains(ROUND_TRIP_TARGET) {
            rust_log.push_str(&format!(",{ROUND_TRIP_TARGET}=debug"));
        }
        let subscriber = json_subscriber_with(std::io::stdout, filter_from(Some(&rust_log)))
            .with(exporter.layer());
        drop(tracing::subscriber::set_global_default(subscriber));
        return Telemetry {
            exporter: Some(exporter),
        };
    }
    init();
    Telemetry::default()
}

/// The target of the round-trip spans: `RUST_LOG=info,auth_core::round_trip=debug` turns them on
/// (for a `tracing-opentelemetry` layer, or to see which round trip a line was written in).
/// Off — the default — a span is one level comparison: nothing is created or recorded.
pub const ROUND_TRIP_TARGET: &str = "auth_core::round_trip";

/// A store or service round trip, for its span.
#[derive(Debug, Clone, Copy)]
pub enum RoundTrip {
    /// One PostgreSQL statement (a lookup, a write, the account functions' queries).
    Postgres,
    /// One Redis exchange (secondary storage).
    Redis,
    /// One fetch of the jwt plugin's JWKS URL.
    JwksFetch,
    /// One AWS call: Secrets Manager or SSM Parameter Store (`target` is the API action).
    Aws {
        /// `secretsmanager.GetSecretValue`, `AmazonSSM.GetParameter`.
        target: &'static str,
    },
}

impl RoundTrip {
    /// The span to run the round trip in (disabled unless [`ROUND_TRIP_TARGET`] is at `debug`).
    /// Its fields follow OpenTelemetry's conventions (`otel.kind`, `db.system`, `rpc.method`).
    pub fn span(self) -> tracing::Span {
        match self {
            Self::Postgres => tracing::debug_span!(
                target: ROUND_TRIP_TARGET,
                "postgres",
                otel.kind = "client",
                db.system = "postgresql"
            ),
            Self::Redis => tracing::debug_span!(
                target: ROUND_TRIP_TARGET,
                "redis",
                otel.kind = "client",
                db.system = "redis"
            ),
            Self::JwksFetch => {
                tracing::debug_span!(target: ROUND_TRIP_TARGET, "jwks_fetch", otel.kind = "client")
            }
            Self::Aws { target } => tracing::debug_span!(
                target: ROUND_TRIP_TARGET,
                "aws",
                otel.kind = "client",
                rpc.system = "aws-api",
                rpc.method = target
            ),
        }
    }
}

/// Targets that log secrets below `info`: query parameters (a session token is one) in
/// tokio-postgres; the raw invocation event (its `Authorization`, `Cookie` and `x-api-key`
/// values, request bodies) in lambda_runtime at `trace` (`layers::api_response`: "raw JSON event
/// received from Lambda"), and the runtime's client and `lambda_http` with it. They stay at
/// `info` or above whatever `RUST_LOG` asks for (issue 27 F3).
const QUIET_TARGETS: [&str; 5] = [
    "tokio_postgres",
    "postgres_protocol",
    "lambda_runtime",
    "lambda_runtime_api_client",
    "lambda_http",
];

/// Whether `target` is one of [`QUIET_TARGETS`] or a module of one.
fn is_quiet(target: &str) -> bool {
    QUIET_TARGETS.iter().any(|quiet| {
        target
            .strip_prefix(quiet)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
    })
}

/// A global filter that drops anything below `info` from [`QUIET_TARGETS`]. The `EnvFilter`
/// directives alone would not hold: a more specific `RUST_LOG` directive
/// (`lambda_runtime::layers=trace`) or a span directive (`[{body}]=trace`) outranks them.
fn quiet_targets() -> tracing_subscriber::filter::FilterFn<impl Fn(&tracing::Metadata<'_>) -> bool>
{
    tracing_subscriber::filter::filter_fn(|metadata| {
        *metadata.level() <= tracing::Level::INFO || !is_quiet(metadata.target())
    })
}

fn filter() -> tracing_subscriber::EnvFilter {
    filter_from(std::env::var("RUST_LOG").ok().as_deref())
}

/// The filter for a `RUST_LOG` value (default `info`), with [`QUIET_TARGETS`] at `info`
/// (the subscribers also hold them there with a global filter that no directive outranks).
pub fn filter_from(rust_log: Option<&str>) -> tracing_subscriber::EnvFilter {
    let mut filter = rust_log
        .and_then(|v| tracing_subscriber::EnvFilter::try_new(v).ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new("info"));
    for quiet in QUIET_TARGETS {
        if let Ok(directive) = format!("{quiet}=info").parse() {
            filter = filter.add_directive(directive);
        }
    }
    filter
}

/// The subscriber used inside Lambda (one flat JSON object per line, no time: CloudWatch adds
/// it; the invocation's `trace_id` and `request_id` on every line, [`line`]), writing to
/// `writer`. The benchmark installs it with a sink so that the cost of logging
/// is part of what it measures.
pub fn json_subscriber<W>(
    writer: W,
) -> impl tracing::Subscriber
+ for<'a> tracing_subscriber::registry::LookupSpan<'a>
+ Send
+ Sync
+ 'static
where
    W: for<'a> tracing_subscriber::fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    json_subscriber_with(writer, filter())
}

/// [`json_subscriber`] with an explicit filter (see [`filter_from`]).
pub fn json_subscriber_with<W>(
    writer: W,
    filter: tracing_subscriber::EnvFilter,
) -> impl tracing::Subscriber
+ for<'a> tracing_subscriber::registry::LookupSpan<'a>
+ Send
+ Sync
+ 'static
where
    W: for<'a> tracing_subscriber::fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    tracing_subscriber::registry()
        .with(filter)
        .with(quiet_targets())
        .with(line::InvocationLayer)
        .with(
            tracing_subscriber::fmt::layer()
                .event_format(line::JsonLine)
                .with_writer(writer),
        )
}

/// A `MakeWriter` into a shared buffer, for tests that read what was logged.
#[cfg(test)]
#[derive(Clone, Default)]
pub(crate) struct LogBuffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

#[cfg(test)]
impl LogBuffer {
    /// Everything written so far.
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().map(|b| b.clone()).unwrap_or_default()).into_owned()
    }
}

#[cfg(test)]
impl std::io::Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut buffer) = self.0.lock() {
            buffer.extend_from_slice(bytes);
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogBuffer {
    type Writer = LogBuffer;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 27 F3: at `RUST_LOG=trace` lambda_runtime writes every raw event (its
    /// `layers::api_response` logs the body: Authorization, Cookie, x-api-key values). Whatever
    /// `RUST_LOG` says, the runtime's targets stay at `info`; other targets follow `RUST_LOG`.
    #[test]
    fn the_runtimes_raw_event_is_never_written_whatever_rust_log_says() {
        const SECRET: &str = "Bearer s3cr3t-raw-event-token";
        for rust_log in [
            "trace",
            "debug",
            "lambda_runtime=trace,trace",
            "lambda_runtime::layers::api_response=trace,trace",
            "trace,lambda_runtime::layers=trace,lambda_http=trace",
            "[{body}]=trace,trace",
        ] {
            let buffer = LogBuffer::default();
            let subscriber = json_subscriber_with(buffer.clone(), filter_from(Some(rust_log)));
            tracing::subscriber::with_default(subscriber, || {
                let body = format!(r#"{{"headers":{{"authorization":"{SECRET}"}}}}"#);
                // The runtime's own line (lambda_runtime 1.5, layers/api_response.rs).
                tracing::trace!(
                    target: "lambda_runtime::layers::api_response",
                    body = body.as_str(),
                    "raw JSON event received from Lambda"
                );
                tracing::debug!(target: "lambda_runtime", body = body.as_str(), "runtime debug");
                tracing::trace!(target: "lambda_http", body = body.as_str(), "http trace");
                tracing::trace!(
                    target: "lambda_runtime_api_client",
                    body = body.as_str(),
                    "client trace"
                );
                tracing::info!(target: "lambda_runtime", "runtime info stays");
                tracing::trace!(target: "authorizer", "our trace line");
            });
            let written = buffer.text();
            assert!(!written.contains("s3cr3t"), "{rust_log}: {written}");
            assert!(written.contains("runtime info stays"), "{rust_log}");
            if !rust_log.starts_with("debug") {
                assert!(written.contains("our trace line"), "{rust_log}: {written}");
            }
        }
    }

    #[test]
    fn fingerprint_is_short_stable_and_not_the_token() {
        let token = "16wdRQ2r5xE3DyCPTsx4SQXF5yuasMk1";
        let fp = fingerprint(token);
        assert_eq!(fp.len(), 12);
        assert_eq!(fp, fingerprint(token));
        assert_ne!(fp, fingerprint("another"));
        assert!(!token.contains(&fp));
    }
}
