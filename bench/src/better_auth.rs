//! Better Auth's `auth.api.getSession` in Node (tests/better-auth/bench.mjs) on the same database.

use std::time::Duration;

use serde::Deserialize as _;
use tokio::process::Command;

use crate::measure::Stats;

#[derive(serde::Deserialize)]
struct Output {
    latencies_us: Vec<f64>,
    started_ms: f64,
    ended_ms: f64,
    wrong: usize,
}

/// getSession `ops` times per process, `processes` Node processes at once, each keeping
/// `concurrency` calls in flight; latencies merged, throughput over the common wall-clock time.
pub async fn get_session(
    database_url: &str,
    secret: &str,
    cookies_file: &std::path::Path,
    processes: usize,
    concurrency: usize,
    ops: usize,
) -> Result<Stats, String> {
    test_support::better_auth::ensure_installed();
    let dir = test_support::better_auth::harness_dir();
    // Every process warms up first, then they all start measuring at the same moment.
    let start_at = chrono::Utc::now().timestamp_millis() + 8_000;
    let children: Vec<_> = (0..processes)
        .map(|_| {
            Command::new("node")
                .arg("bench.mjs")
                .current_dir(&dir)
                .env("DATABASE_URL", database_url)
                .env("BETTER_AUTH_SECRET", secret)
                .env("COOKIES_FILE", cookies_file)
                .env("OPS", ops.to_string())
                .env("WARMUP", "500")
                .env("CONCURRENCY", concurrency.to_string())
                .env("START_AT", start_at.to_string())
                .kill_on_drop(true)
                .output()
        })
        .collect();
    let mut latencies = Vec::new();
    let (mut first, mut last, mut wrong) = (f64::MAX, 0f64, 0);
    for child in children {
        let out = child.await.map_err(|e| format!("node: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "bench.mjs failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let line = String::from_utf8_lossy(&out.stdout);
        let mut de = serde_json::Deserializer::from_str(line.trim());
        let parsed = Output::deserialize(&mut de).map_err(|e| format!("bench.mjs output: {e}"))?;
        latencies.extend(
            parsed
                .latencies_us
                .iter()
                .map(|us| Duration::from_nanos((us * 1000.0) as u64)),
        );
        first = first.min(parsed.started_ms);
        last = last.max(parsed.ended_ms);
        wrong += parsed.wrong;
    }
    let wall = Duration::from_secs_f64(((last - first) / 1000.0).max(1e-6));
    Ok(Stats::from_latencies(latencies, wall, wrong))
}
