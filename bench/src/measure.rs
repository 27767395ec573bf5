//! Latency and throughput of one scenario: at concurrency 1, and with many workers at once
//! (each worker a simulated Lambda container: one request at a time, its own state).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// One operation: given its number, does the work and returns whether the answer was right
/// and how long the measured part took (setup such as building the event is not timed).
pub type Op =
    Arc<dyn Fn(usize) -> Pin<Box<dyn Future<Output = (bool, Duration)> + Send>> + Send + Sync>;

/// What one run measured.
#[derive(Debug, Clone, Copy)]
pub struct Stats {
    /// Operations measured.
    pub ops: usize,
    /// Median latency, microseconds.
    pub p50_us: f64,
    /// 99th percentile latency, microseconds.
    pub p99_us: f64,
    /// Operations per second over the run's wall-clock time.
    pub throughput: f64,
    /// Operations whose answer was wrong (should be 0).
    pub wrong: usize,
}

impl Stats {
    /// From the latencies (any order) and the wall-clock time of the run.
    pub fn from_latencies(mut latencies: Vec<Duration>, wall: Duration, wrong: usize) -> Self {
        latencies.sort_unstable();
        let at = |q: f64| -> f64 {
            if latencies.is_empty() {
                return f64::NAN;
            }
            let i = ((latencies.len() as f64 - 1.0) * q).round() as usize;
            latencies[i].as_secs_f64() * 1e6
        };
        Self {
            ops: latencies.len(),
            p50_us: at(0.50),
            p99_us: at(0.99),
            throughput: latencies.len() as f64 / wall.as_secs_f64(),
            wrong,
        }
    }

    /// As JSON.
    pub fn json(&self) -> Value {
        json!({
            "ops": self.ops,
            "p50_us": round(self.p50_us),
            "p99_us": round(self.p99_us),
            "throughput_per_s": self.throughput.round(),
            "wrong": self.wrong,
        })
    }
}

/// Two decimals.
pub fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// `ops` operations one after another after `warmup` unmeasured ones.
pub async fn sequential(op: &Op, warmup: usize, ops: usize) -> Stats {
    for i in 0..warmup {
        op(i).await;
    }
    let mut latencies = Vec::with_capacity(ops);
    let mut wrong = 0;
    let started = Instant::now();
    for i in 0..ops {
        let (ok, took) = op(warmup + i).await;
        wrong += usize::from(!ok);
        latencies.push(took);
    }
    Stats::from_latencies(latencies, started.elapsed(), wrong)
}

/// Every worker runs `per_worker` operations at once with the others, after `warmup` each.
pub async fn concurrent(workers: &[Op], warmup: usize, per_worker: usize) -> Stats {
    for (w, op) in workers.iter().enumerate() {
        for i in 0..warmup {
            op(w * 1_000_003 + i).await;
        }
    }
    let started = Instant::now();
    let tasks: Vec<_> = workers
        .iter()
        .enumerate()
        .map(|(w, op)| {
            let op = Arc::clone(op);
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(per_worker);
                let mut wrong = 0;
                for i in 0..per_worker {
                    let (ok, took) = op(w * per_worker + i).await;
                    wrong += usize::from(!ok);
                    latencies.push(took);
                }
                (latencies, wrong)
            })
        })
        .collect();
    let mut all = Vec::with_capacity(workers.len() * per_worker);
    let mut wrong = 0;
    for task in tasks {
        match task.await {
            Ok((latencies, w)) => {
                all.extend(latencies);
                wrong += w;
            }
            Err(e) => panic!("a benchmark worker failed: {e}"),
        }
    }
    Stats::from_latencies(all, started.elapsed(), wrong)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_throughput() {
        let latencies: Vec<Duration> = (1..=100).map(Duration::from_micros).collect();
        let s = Stats::from_latencies(latencies, Duration::from_millis(10), 1);
        assert_eq!(s.ops, 100);
        assert!((s.p50_us - 51.0).abs() < 1.01, "{}", s.p50_us);
        assert!((s.p99_us - 99.0).abs() < 1.01, "{}", s.p99_us);
        assert!((s.throughput - 10_000.0).abs() < 1.0);
        assert_eq!(s.wrong, 1);
    }
}
