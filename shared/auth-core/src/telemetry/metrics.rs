//! Metrics operators can alarm on: CloudWatch Embedded Metric Format (EMF) members folded into
//! the one line a decision (authorizer) or a request (account functions) already writes — no
//! second write, no agent, no API call: CloudWatch Logs extracts the metrics from the line.
//!
//! Dimensions are few and bounded: `function` (the Lambda function's name), `decision`
//! (`allow`, `deny`, `unauthorized`, `error`), `method` (a credential method), `reason` (a
//! refusal code), `status_class` (`2xx` … `5xx`). Never a user, session, token or path.
//!
//! No maintained crate writes EMF into a line that a `tracing` subscriber writes: the EMF crates
//! print documents of their own (`metrics_cloudwatch_embedded` flushes one per invocation behind
//! the `metrics` facade's registry; `metrique-writer-format-emf` writes its own entries), a
//! second write per event. This is the few lines it takes.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tracing::field::DisplayValue;

use crate::env::{ConfigError, Env};

/// The namespace when `METRICS_NAMESPACE` is not set.
pub const DEFAULT_NAMESPACE: &str = "BetterAuthLambda";

/// `METRICS_ENABLED` and `METRICS_NAMESPACE`, parsed once at cold start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricsSettings {
    /// The CloudWatch namespace, when metrics are on.
    pub namespace: Option<String>,
    /// The `function` dimension: `AWS_LAMBDA_FUNCTION_NAME` (`local` outside Lambda).
    pub function: String,
}

impl MetricsSettings {
    /// Reads `METRICS_ENABLED` (default false) and `METRICS_NAMESPACE` (default
    /// [`DEFAULT_NAMESPACE`]; 1–255 characters of CloudWatch's namespace alphabet).
    pub fn from_env(env: &Env<'_>) -> Result<Self, ConfigError> {
        let function = env
            .get("AWS_LAMBDA_FUNCTION_NAME")
            .unwrap_or_else(|| "local".to_owned());
        if !env.flag("METRICS_ENABLED", false)? {
            return Ok(Self {
                namespace: None,
                function,
            });
        }
        let namespace = env
            .get("METRICS_NAMESPACE")
            .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned());
        let valid = !namespace.is_empty()
            && namespace.len() <= 255
            && !namespace.starts_with(':')
            && namespace
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-_/#: ".contains(c));
        if !valid {
            return Err(crate::env::invalid(
                "METRICS_NAMESPACE",
                "1–255 of A–Z a–z 0–9 . - _ / # : and space, not starting with ':'",
            ));
        }
        Ok(Self {
            namespace: Some(namespace),
            function,
        })
    }
}

/// Something counted between two records (drained into the next one).
#[derive(Debug, Clone, Copy)]
pub enum Tally {
    /// A session answered from the result cache (`BETTER_AUTH_RESULT_CACHE_*`).
    ResultCacheHit,
    /// The JWKS loaded or refreshed (the jwt plugin's keys, from the table or a URL).
    JwksRefresh,
    /// A store (PostgreSQL, Redis) round trip failed.
    StoreError,
    /// A store round trip timed out.
    StoreTimeout,
}

const TALLY_NAMES: [&str; 4] = [
    "ResultCacheHits",
    "JwksRefreshes",
    "StoreErrors",
    "StoreTimeouts",
];

static TALLIES: [AtomicU64; 4] = [const { AtomicU64::new(0) }; 4];

/// Counts one `tally` (an atomic add; reported by the next record when metrics are on).
pub fn count(tally: Tally) {
    TALLIES[tally as usize].fetch_add(1, Ordering::Relaxed);
}

/// The record of one container: its namespace, its function, and whether it has recorded yet
/// (the first record counts the cold start).
#[derive(Debug)]
pub struct Metrics {
    /// `"Namespace":"…"` and `"function":"…"`, escaped once.
    emf: Option<(String, String)>,
    recorded: AtomicBool,
}

impl Metrics {
    /// Metrics for `settings` (off when it has no namespace).
    pub fn new(settings: &MetricsSettings) -> Self {
        let emf = settings.namespace.as_ref().map(|namespace| {
            (
                format!("\"Namespace\":{}", json_string(namespace)),
                format!("\"function\":{}", json_string(&settings.function)),
            )
        });
        Self {
            emf,
            recorded: AtomicBool::new(false),
        }
    }

    /// Whether records are written.
    pub fn enabled(&self) -> bool {
        self.emf.is_some()
    }

    /// The EMF members for an authorizer decision's line. The line itself must carry the
    /// dimensions' values as string fields: `decision` always, `method` and `reason` when they
    /// are given here. `None` when metrics are off.
    pub fn decision<'a>(
        &'a self,
        method: Option<&'a str>,
        reason: Option<&'a str>,
        latency_us: u64,
    ) -> Option<DisplayValue<Record<'a>>> {
        self.record(Kind::Decision { method, reason }, latency_us)
    }

    /// The EMF members for an account function's request line (`status` is the response's).
    pub fn request(&self, status: u16, latency_us: u64) -> Option<DisplayValue<Record<'_>>> {
        let class = match status {
            100..=199 => "1xx",
            200..=299 => "2xx",
            300..=399 => "3xx",
            400..=499 => "4xx",
            _ => "5xx",
        };
        self.record(Kind::Request { class }, latency_us)
    }

    fn record<'a>(&'a self, kind: Kind<'a>, latency_us: u64) -> Option<DisplayValue<Record<'a>>> {
        let (namespace, function) = self.emf.as_ref()?;
        let cold = !self.recorded.swap(true, Ordering::Relaxed);
        let tallies = std::array::from_fn(|i| TALLIES[i].swap(0, Ordering::Relaxed));
        let timestamp_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        Some(tracing::field::display(Record {
            namespace,
            function,
            kind,
            latency_us,
            cold,
            tallies,
            timestamp_ms,
        }))
    }
}

/// What a record is about: its own dimensions.
#[derive(Debug, Clone, Copy)]
enum Kind<'a> {
    Decision {
        method: Option<&'a str>,
        reason: Option<&'a str>,
    },
    Request {
        class: &'static str,
    },
}

/// One EMF record's members (`"_aws":{…},"function":…,<metric values>`), rendered when the line
/// is written.
#[derive(Debug)]
pub struct Record<'a> {
    namespace: &'a str,
    function: &'a str,
    kind: Kind<'a>,
    latency_us: u64,
    cold: bool,
    tallies: [u64; 4],
    timestamp_ms: u64,
}

impl fmt::Display for Record<'_> {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        out.write_str("\"_aws\":{\"Timestamp\":")?;
        write!(out, "{}", self.timestamp_ms)?;
        out.write_str(",\"CloudWatchMetrics\":[{")?;
        out.write_str(self.namespace)?;
        let count_name = match self.kind {
            Kind::Decision { method, reason } => {
                out.write_str(",\"Dimensions\":[[\"function\"],[\"function\",\"decision\"]")?;
                if method.is_some() {
                    out.write_str(",[\"function\",\"decision\",\"method\"]")?;
                }
                if reason.is_some() {
                    out.write_str(",[\"function\",\"decision\",\"reason\"]")?;
                }
                "Decisions"
            }
            Kind::Request { .. } => {
                out.write_str(",\"Dimensions\":[[\"function\"],[\"function\",\"status_class\"]")?;
                "Requests"
            }
        };
        write!(
            out,
            "],\"Metrics\":[{{\"Name\":\"{count_name}\",\"Unit\":\"Count\"}},\
             {{\"Name\":\"Latency\",\"Unit\":\"Microseconds\"}}]}}"
        )?;
        let counted = self.cold || self.tallies.iter().any(|&n| n > 0);
        if counted {
            // Counts that belong to the container, not to this decision: `function` only.
            out.write_str(",{")?;
            out.write_str(self.namespace)?;
            out.write_str(",\"Dimensions\":[[\"function\"]],\"Metrics\":[")?;
            let mut first = true;
            let mut metric = |out: &mut fmt::Formatter<'_>, name: &str| {
                let comma = if first { "" } else { "," };
                first = false;
                write!(out, "{comma}{{\"Name\":\"{name}\",\"Unit\":\"Count\"}}")
            };
            if self.cold {
                metric(out, "ColdStarts")?;
            }
            for (name, &n) in TALLY_NAMES.iter().zip(&self.tallies) {
                if n > 0 {
                    metric(out, name)?;
                }
            }
            out.write_str("]}")?;
        }
        out.write_str("]},")?;
        out.write_str(self.function)?;
        if let Kind::Request { class } = self.kind {
            write!(out, ",\"status_class\":\"{class}\"")?;
        }
        write!(out, ",\"{count_name}\":1,\"Latency\":{}", self.latency_us)?;
        if self.cold {
            out.write_str(",\"ColdStarts\":1")?;
        }
        for (name, &n) in TALLY_NAMES.iter().zip(&self.tallies) {
            if n > 0 {
                write!(out, ",\"{name}\":{n}")?;
            }
        }
        Ok(())
    }
}

/// `value` as a JSON string (settings, once at cold start).
fn json_string(value: &str) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "\"\"".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn settings(pairs: &[(&str, &str)]) -> Result<MetricsSettings, ConfigError> {
        let lookup = |name: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        };
        MetricsSettings::from_env(&Env::new(&lookup))
    }

    /// The members as the line holds them, in an object of their own.
    fn members(record: Option<DisplayValue<Record<'_>>>) -> Value {
        let record = record.expect("metrics are on");
        serde_json::from_str(&format!("{{{record}}}")).expect("JSON members")
    }

    #[test]
    fn off_by_default_and_the_namespace_is_checked() {
        assert_eq!(settings(&[]).map(|s| s.namespace), Ok(None));
        assert_eq!(
            settings(&[("METRICS_NAMESPACE", "X")]).map(|s| s.namespace),
            Ok(None),
            "a namespace alone does not turn them on"
        );
        let on = settings(&[
            ("METRICS_ENABLED", "true"),
            ("AWS_LAMBDA_FUNCTION_NAME", "fn"),
        ]);
        assert_eq!(
            on.as_ref().map(|s| s.namespace.as_deref()),
            Ok(Some(DEFAULT_NAMESPACE))
        );
        assert_eq!(on.map(|s| s.function), Ok("fn".to_owned()));
        // Empty counts as unset, as everywhere: the default namespace.
        assert_eq!(
            settings(&[("METRICS_ENABLED", "1"), ("METRICS_NAMESPACE", "")]).map(|s| s.namespace),
            Ok(Some(DEFAULT_NAMESPACE.to_owned()))
        );
        for bad in [":x", "a\"b", "tab\there", &"n".repeat(256)] {
            assert!(
                settings(&[("METRICS_ENABLED", "1"), ("METRICS_NAMESPACE", bad)]).is_err(),
                "{bad:?}"
            );
        }
        let off = Metrics::new(&settings(&[]).expect("defaults"));
        assert!(!off.enabled());
        assert!(off.decision(Some("session"), None, 5).is_none());
        assert!(off.request(200, 5).is_none());
    }

    /// The one test in this crate that drains the tallies (others only count): the cold start
    /// on the first record only, the counts since the previous record, the dimension sets.
    #[test]
    fn records_count_the_cold_start_once_and_drain_the_tallies() {
        let metrics = Metrics::new(
            &settings(&[
                ("METRICS_ENABLED", "true"),
                ("METRICS_NAMESPACE", "Test/Unit"),
            ])
            .expect("valid"),
        );
        count(Tally::JwksRefresh);
        count(Tally::StoreTimeout);
        let first = members(metrics.decision(None, Some("database_timeout"), 7));
        assert_eq!(first["Decisions"], 1);
        assert_eq!(first["Latency"], 7);
        assert_eq!(first["ColdStarts"], 1);
        assert!(first["JwksRefreshes"].as_u64() >= Some(1), "{first}");
        assert!(first["StoreTimeouts"].as_u64() >= Some(1), "{first}");
        assert_eq!(first["function"], "local");
        let directive = &first["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "Test/Unit");
        assert_eq!(
            directive["Dimensions"],
            serde_json::json!([
                ["function"],
                ["function", "decision"],
                ["function", "decision", "reason"]
            ])
        );
        let second = members(metrics.request(503, 9));
        assert_eq!(second["Requests"], 1);
        assert_eq!(second["status_class"], "5xx");
        // Other tests of this crate may count meanwhile (never drain): no cold start again.
        assert!(second.get("ColdStarts").is_none(), "{second}");
        assert_eq!(
            second["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            serde_json::json!([["function"], ["function", "status_class"]])
        );
    }
}
