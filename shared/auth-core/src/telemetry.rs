//! Logging set-up and the token fingerprint that logs may carry instead of a token.

use sha2::{Digest, Sha256};

/// The first 12 hex characters of SHA-256 of a token: enough to correlate log lines, useless to
/// an attacker. Logs carry this, never a token.
pub fn fingerprint(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    hex::encode(&digest[..6])
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
                .try_init(),
        );
    }
}

/// Targets that log query parameters (a session token is one) below `info`: they stay at
/// `info` or above whatever `RUST_LOG` asks for.
const QUIET_TARGETS: [&str; 2] = ["tokio_postgres=info", "postgres_protocol=info"];

fn filter() -> tracing_subscriber::EnvFilter {
    filter_from(std::env::var("RUST_LOG").ok().as_deref())
}

/// The filter for a `RUST_LOG` value (default `info`), with [`QUIET_TARGETS`] forced.
pub fn filter_from(rust_log: Option<&str>) -> tracing_subscriber::EnvFilter {
    let mut filter = rust_log
        .and_then(|v| tracing_subscriber::EnvFilter::try_new(v).ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new("info"));
    for quiet in QUIET_TARGETS {
        if let Ok(directive) = quiet.parse() {
            filter = filter.add_directive(directive);
        }
    }
    filter
}

/// The subscriber used inside Lambda (one flat JSON object per line, no time: CloudWatch adds
/// it), writing to `writer`. The benchmark installs it with a sink so that the cost of logging
/// is part of what it measures.
pub fn json_subscriber<W>(writer: W) -> impl tracing::Subscriber + Send + Sync + 'static
where
    W: for<'a> tracing_subscriber::fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    json_subscriber_with(writer, filter())
}

/// [`json_subscriber`] with an explicit filter (see [`filter_from`]).
pub fn json_subscriber_with<W>(
    writer: W,
    filter: tracing_subscriber::EnvFilter,
) -> impl tracing::Subscriber + Send + Sync + 'static
where
    W: for<'a> tracing_subscriber::fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .without_time()
        .with_writer(writer)
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

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
