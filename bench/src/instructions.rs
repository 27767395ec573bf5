//! Instruction counts per path, under callgrind: independent of the machine's noise, so a
//! regression shows run to run even where the timings cannot show it.
//!
//! For each path the benchmark runs itself twice under `valgrind --tool=callgrind`, collecting
//! only inside [`InstructionCounted`](crate::scenarios::InstructionCounted) polls — the
//! authorizer's work from the event's bytes to the answer's bytes — for `FEW` and `MANY`
//! invocations; the difference over `MANY − FEW` is the marginal count per invocation (first-use
//! costs such as preparing a statement or loading a key cancel out).

use std::path::Path;

use crate::scenarios::{Bench, Scenario};

/// The paths counted.
pub const PATHS: [Scenario; 9] = [
    Scenario::DatabasePath,
    Scenario::UnknownToken,
    Scenario::BadSignature,
    Scenario::BadSignatureMetrics,
    Scenario::ResultCache,
    Scenario::Jwt,
    Scenario::CookieCache,
    Scenario::RedisPath,
    Scenario::ApiKeyPath,
];
const FEW: usize = 50;
const MANY: usize = 250;
const VARIABLE: &str = "BENCH_INSTRUCTIONS";

/// In a child: `(scenario, invocations)` to run, when this process is one.
pub fn child() -> Option<(Scenario, usize)> {
    let value = std::env::var(VARIABLE).ok()?;
    let (index, ops) = value.split_once(',')?;
    let scenario = *crate::scenarios::ALL.get(index.parse::<usize>().ok()?)?;
    Some((scenario, ops.parse().ok()?))
}

/// The child's work: `ops` invocations of `scenario` on the seeded database, one at a time.
pub async fn run_child(scenario: Scenario, ops: usize) -> Result<(), String> {
    let bench = Bench::attach(500).await?;
    let op = bench.workers(scenario, 1).await?.pop().ok_or("no worker")?;
    let mut wrong = 0;
    for i in 0..ops {
        let (ok, _) = op(i).await;
        wrong += usize::from(!ok);
    }
    if wrong > 0 {
        return Err(format!("{wrong} wrong answers under callgrind"));
    }
    Ok(())
}

/// Instructions per invocation for each of [`PATHS`], or why they could not be counted.
pub async fn count(exe: &Path) -> Result<Vec<(Scenario, u64)>, String> {
    let mut counts = Vec::new();
    for scenario in PATHS {
        let index = crate::scenarios::ALL
            .iter()
            .position(|s| *s == scenario)
            .ok_or("unknown scenario")?;
        let few = total(exe, index, FEW).await?;
        let many = total(exe, index, MANY).await?;
        if many == 0 {
            return Err(
                "callgrind counted nothing: the binary has no symbols (the release profile strips them; \
                 the benchmark profile keeps them)"
                    .into(),
            );
        }
        counts.push((scenario, many.saturating_sub(few) / (MANY - FEW) as u64));
    }
    Ok(counts)
}

async fn total(exe: &Path, index: usize, ops: usize) -> Result<u64, String> {
    let out = std::env::temp_dir().join(format!(
        "better-auth-bench-callgrind-{}-{index}-{ops}.out",
        std::process::id()
    ));
    let status = tokio::process::Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg("--toggle-collect=*InstructionCounted*")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(exe)
        .env(VARIABLE, format!("{index},{ops}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .await
        .map_err(|e| format!("valgrind: {e} (make bench installs it)"))?;
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    let _ = std::fs::remove_file(&out);
    if !status.success() {
        return Err(format!("the callgrind run failed ({status})"));
    }
    text.lines()
        .find_map(|l| {
            l.strip_prefix("totals:")
                .or_else(|| l.strip_prefix("summary:"))
        })
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| "no totals in callgrind's output".to_owned())
}
