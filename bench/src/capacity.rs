//! The capacity model: at a given request rate, how many Lambda sandboxes the authorizer needs at
//! once, and how many PostgreSQL connections they hold, with and without a pooler, per path.
//!
//! Measured in the same run: each path's service time (its concurrency-1 p50) and the time a
//! server connection is busy per request (the limit's p50; through PgBouncer, the pooled path's).
//! Assumed (stated in the output): Lambda's own per-invocation overhead, which no local
//! measurement can see. The peaks come from a small discrete-event simulation — Poisson arrivals,
//! exponential service times with the measured mean, a sandbox serving one request at a time and
//! reused when idle (as Lambda reuses warm sandboxes) — with a fixed seed, so every run of the
//! same inputs gives the same figures.

use rand::SeedableRng;
use rand::distr::{Distribution, Open01};
use rand::rngs::StdRng;
use serde_json::{Value, json};

/// The simulation's seed: fixed, so the model is reproducible.
const SEED: u64 = 0x5eed_cafe;
/// Simulated seconds per path.
const SECONDS: f64 = 30.0;

/// What the model is computed from.
#[derive(Debug, Clone, Copy)]
pub struct Inputs {
    /// Requests per second (the question asked: 5,000).
    pub rate: f64,
    /// Lambda's per-invocation overhead beyond our handler (Runtime API round trips), ms:
    /// assumed, not measured.
    pub lambda_overhead_ms: f64,
}

/// One path's figures.
#[derive(Debug, Clone)]
pub struct PathCapacity {
    /// The path.
    pub path: String,
    /// Our handler's time per request (measured p50), µs.
    pub handler_us: f64,
    /// Peak sandboxes busy at once (simulated), and their mean (Little's law).
    pub sandboxes_peak: usize,
    /// `rate × busy time`.
    pub sandboxes_mean: f64,
    /// PostgreSQL connections held without a pooler: one per sandbox (whatever
    /// `DATABASE_POOL_MAX_SIZE`, 1 or 2: a sandbox runs one request at a time, so its pool never
    /// opens a second), zero for paths that do not query.
    pub direct_connections: usize,
    /// Server connections busy at once behind a transaction pooler (RDS Proxy, PgBouncer).
    pub pooled_server_connections: usize,
}

/// The model for `paths`: `(label, handler µs, database µs per request or 0)`.
pub fn model(inputs: Inputs, paths: &[(&str, f64, f64)]) -> Vec<PathCapacity> {
    paths
        .iter()
        .enumerate()
        .map(|(i, (path, handler_us, database_us))| {
            let busy_s = handler_us / 1e6 + inputs.lambda_overhead_ms / 1e3;
            let sandboxes_peak = peak_in_service(inputs.rate, busy_s, SEED + i as u64);
            let queries = *database_us > 0.0;
            PathCapacity {
                path: (*path).to_owned(),
                handler_us: *handler_us,
                sandboxes_peak,
                sandboxes_mean: inputs.rate * busy_s,
                direct_connections: if queries { sandboxes_peak } else { 0 },
                pooled_server_connections: if queries {
                    peak_in_service(inputs.rate, database_us / 1e6, SEED + 100 + i as u64)
                } else {
                    0
                },
            }
        })
        .collect()
}

/// A model row, not a measurement: `path` (a measured row, `database_us` its database time per
/// request) with its reads spread evenly over `replicas` read replicas (`DATABASE_READ_URL` on
/// an Aurora reader endpoint, which spreads connections). Sandboxes are unchanged; the
/// connection columns are per replica: each holds its share of the sandboxes' connections, and
/// behind a pooler serves `rate / replicas` reads. The primary then serves only writes, misses
/// and the reads of a lagging or failed replica.
pub fn spread_over_replicas(
    inputs: Inputs,
    path: &PathCapacity,
    database_us: f64,
    replicas: usize,
) -> PathCapacity {
    let replicas = replicas.max(1);
    PathCapacity {
        path: format!(
            "{}, reads over {replicas} replicas: {:.0} reads/s each (model, per replica)",
            path.path,
            inputs.rate / replicas as f64
        ),
        handler_us: path.handler_us,
        sandboxes_peak: path.sandboxes_peak,
        sandboxes_mean: path.sandboxes_mean,
        direct_connections: path.direct_connections.div_ceil(replicas),
        pooled_server_connections: peak_in_service(
            inputs.rate / replicas as f64,
            database_us / 1e6,
            SEED + 200 + replicas as u64,
        ),
    }
}

/// Peak number of requests in service at once when requests arrive as a Poisson stream of
/// `rate` per second and each is served for an exponential time of mean `mean_s` (M/M/∞),
/// over [`SECONDS`] simulated seconds.
pub fn peak_in_service(rate: f64, mean_s: f64, seed: u64) -> usize {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut exp = |mean: f64| -> f64 {
        let u: f64 = Open01.sample(&mut rng);
        -mean * u.ln()
    };
    // Departure times of the requests in service, as a min-heap (reversed ordering).
    let mut busy: std::collections::BinaryHeap<std::cmp::Reverse<u64>> =
        std::collections::BinaryHeap::new();
    let (mut now, mut peak) = (0.0_f64, 0_usize);
    while now < SECONDS {
        now += exp(1.0 / rate);
        let ns = |t: f64| (t * 1e9) as u64;
        while busy.peek().is_some_and(|d| d.0 <= ns(now)) {
            busy.pop();
        }
        busy.push(std::cmp::Reverse(ns(now + exp(mean_s))));
        peak = peak.max(busy.len());
    }
    peak
}

/// The model as JSON.
pub fn json(inputs: Inputs, rows: &[PathCapacity]) -> Value {
    json!({
        "rate_per_s": inputs.rate,
        "assumed_lambda_overhead_ms": inputs.lambda_overhead_ms,
        "seed": SEED,
        "simulated_seconds": SECONDS,
        "paths": rows.iter().map(|r| json!({
            "path": r.path,
            "handler_us": (r.handler_us * 10.0).round() / 10.0,
            "sandboxes_mean": (r.sandboxes_mean * 10.0).round() / 10.0,
            "sandboxes_peak": r.sandboxes_peak,
            "postgres_connections_direct": r.direct_connections,
            "postgres_server_connections_pooled": r.pooled_server_connections,
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_simulation_agrees_with_littles_law_and_is_reproducible() {
        // M/M/∞ with mean 50 in service: the peak over 30 s sits a few deviations above it.
        let peak = peak_in_service(5000.0, 0.010, 7);
        assert!((55..=90).contains(&peak), "{peak}");
        assert_eq!(peak, peak_in_service(5000.0, 0.010, 7), "fixed seed");
        // Twice the service time, about twice the sandboxes.
        let double = peak_in_service(5000.0, 0.020, 7);
        assert!(double as f64 > 1.6 * peak as f64, "{double} vs {peak}");
    }

    #[test]
    fn reads_spread_over_replicas_divide_each_replicas_connections() {
        let inputs = Inputs {
            rate: 5000.0,
            lambda_overhead_ms: 1.0,
        };
        let rows = model(inputs, &[("database", 1200.0, 900.0)]);
        let two = spread_over_replicas(inputs, &rows[0], 900.0, 2);
        assert_eq!(two.sandboxes_peak, rows[0].sandboxes_peak);
        assert_eq!(
            two.direct_connections,
            rows[0].direct_connections.div_ceil(2)
        );
        assert!(two.pooled_server_connections < rows[0].pooled_server_connections);
        assert!(two.path.contains("model"));
    }

    #[test]
    fn paths_without_queries_hold_no_connections() {
        let rows = model(
            Inputs {
                rate: 5000.0,
                lambda_overhead_ms: 1.0,
            },
            &[("database", 120.0, 90.0), ("jwt", 50.0, 0.0)],
        );
        assert_eq!(rows[0].direct_connections, rows[0].sandboxes_peak);
        assert!(rows[0].pooled_server_connections < rows[0].direct_connections);
        assert_eq!(
            (
                rows[1].direct_connections,
                rows[1].pooled_server_connections
            ),
            (0, 0)
        );
    }
}
