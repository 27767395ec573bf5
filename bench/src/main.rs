//! `make bench`: the authorizer against the physical limit (one prepared statement through
//! tokio-postgres) and against Better Auth's own `getSession`, on one database with 100k users
//! and 200k sessions; its secondary-storage path against a raw Redis `GET` of the same keys; its
//! API-key path against the same guarded write through tokio-postgres alone;
//! plus the release binary's cold start, peak memory and size. Prints a markdown table and
//! writes the figures as JSON (`bench/latest.json`).
//!
//! Settings (environment): `DATABASE_URL` (a server where the benchmark may create
//! `better_auth_bench`; `make bench` finds or starts one), `REDIS_URL` (likewise; keys under a
//! prefix of the run's own, deleted after), `BENCH_OPS` (operations per
//! concurrency-1 run, default 5000), `BENCH_CONCURRENCY` (simulated containers at once, default
//! 16), `BENCH_USERS` / `BENCH_SESSIONS` (default 100000 / 200000), `BENCH_OUTPUT`.

mod authorization;
mod better_auth;
mod capacity;
mod instructions;
mod measure;
mod oauth;
mod runtime_api;
mod scenarios;
mod seed;

use serde_json::{Value, json};
use std::path::PathBuf;

use crate::measure::{Stats, round};
use crate::scenarios::Bench;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(default)
}

fn main() {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("bench: cannot start tokio: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = runtime.block_on(run(cores)) {
        eprintln!("bench: {e}");
        std::process::exit(1);
    }
}

async fn run(cores: usize) -> Result<(), String> {
    // Production logging (JSON lines), written to a sink: its cost is part of every figure.
    let _ = tracing::subscriber::set_global_default(auth_core::telemetry::json_subscriber(
        std::io::sink,
    ));
    // The headers the API-key scenario sends its key in (the runtime's parse reads them).
    authorizer::event::configure(&["x-api-key".to_owned()]);
    if let Some((scenario, ops)) = instructions::child() {
        return instructions::run_child(scenario, ops).await;
    }
    let ops = env_number("BENCH_OPS", 5000);
    let concurrency = env_number("BENCH_CONCURRENCY", 16);
    let size = seed::Size {
        users: env_number("BENCH_USERS", 100_000) as i64,
        sessions: env_number("BENCH_SESSIONS", 200_000) as i64,
    };
    let per_worker = (ops * 4).div_ceil(concurrency);
    eprintln!(
        "bench: seeding {} users and {} sessions in {} …",
        size.users,
        size.sessions,
        seed::DATABASE
    );
    let bench = Bench::prepare(size).await?;
    let mut machine = machine(cores, &bench.database_url).await;
    machine["redis"] = json!(bench.redis_version().await);

    let mut rows: Vec<(String, Stats, Stats)> = Vec::new();
    // BENCH_ONLY=<text>: only the scenarios whose label contains it, nothing else (profiling).
    if let Ok(only) = std::env::var("BENCH_ONLY") {
        for scenario in scenarios::ALL
            .iter()
            .filter(|s| s.label().contains(only.as_str()))
        {
            let c1 = sequential(&bench, *scenario, ops)?;
            println!("{}: {}", scenario.label(), c1.json());
        }
        return Ok(());
    }
    for scenario in scenarios::ALL {
        eprintln!("bench: {} …", scenario.label());
        let c1 = sequential(&bench, scenario, ops)?;
        let many = bench.workers(scenario, concurrency).await?;
        let cn = measure::concurrent(&many, 100, per_worker).await;
        rows.push((scenario.label().to_owned(), c1, cn));
    }
    eprintln!("bench: Better Auth getSession (node) …");
    let ba_c1 = bench.better_auth(1, 1, ops).await?;
    let processes = cores.max(1);
    let ba_cn = bench
        .better_auth(
            processes,
            concurrency.div_ceil(processes),
            (ops * 4).div_ceil(processes),
        )
        .await?;
    rows.push((
        format!(
            "Better Auth `auth.api.getSession` (Node {}, {processes} processes)",
            machine["node"].as_str().unwrap_or("?")
        ),
        ba_c1,
        ba_cn,
    ));

    eprintln!("bench: one new PostgreSQL connection …");
    let connect_ms = bench.connect_ms(20).await?;
    eprintln!("bench: the authorizer binary: cold start and peak memory …");
    let binaries = binary_dir();
    let startup = bench.startup(&binaries.join("authorizer"), 20).await?;
    let memory = bench.memory(&binaries.join("authorizer"), 5000).await?;
    let sizes = binary_sizes();

    let row = |scenario: scenarios::Scenario| {
        rows.iter()
            .find(|r| r.0 == scenario.label())
            .map(|r| r.1)
            .ok_or(format!("no row {}", scenario.label()))
    };
    use scenarios::Scenario as S;
    let ratio =
        |path: S| -> Result<f64, String> { Ok(row(path)?.p50_us / row(path.limit())?.p50_us) };
    let ratio_limit = ratio(S::DatabasePath)?;
    let ratio_redis = ratio(S::RedisPath)?;
    let api_key_ratio = ratio(S::ApiKeyPath)?;
    let jwt_ratio = ratio(S::Jwt)?;
    let oauth_jwt_ratio = ratio(S::OAuthJwtPath)?;
    let oauth_jwt_cached_ratio = ratio(S::OAuthJwtCached)?;
    let oauth_opaque_ratio = ratio(S::OAuthOpaquePath)?;
    let dpop_added = row(S::OAuthDpopPath)?.p50_us - row(S::OAuthOpaquePath)?.p50_us;
    let dpop_limit = row(S::DpopLimit)?.p50_us;
    let saturated = |s: S| {
        rows.iter()
            .find(|r| r.0 == s.label())
            .map(|r| r.2)
            .ok_or(format!("no row {}", s.label()))
    };
    let throughput_vs_limit =
        saturated(S::DatabasePath)?.throughput / saturated(S::Limit)?.throughput;
    let routes_added = row(S::RoutesPath)?.p50_us - row(S::DatabasePath)?.p50_us;
    let org_ratio = ratio(S::OrgRoutesPath)?;
    let policy_100 = row(S::Policy100)?;
    let policy_seen = row(S::Policy100SeenBefore)?;
    let bad_signature = row(S::BadSignature)?;
    let metrics_added = row(S::BadSignatureMetrics)?.p50_us - bad_signature.p50_us;
    let cookie_cache = row(S::CookieCache)?;
    let result_cache = row(S::ResultCache)?;
    let ours_n = rows[1].2;
    let ratio_ba = ours_n.throughput / ba_cn.throughput;
    let peak_mib = memory.peak_rss_kib.map(|k| k as f64 / 1024.0);
    let first_vs_connect = memory.first_invocation_ms.map(|f| f / connect_ms);
    let authorizer_zip = sizes
        .iter()
        .find(|(n, _)| n.starts_with("authorizer (arm64"))
        .map(|(_, b)| *b);
    let targets = vec![
        target(
            "database path p50 ≤ 1.15× the limit (concurrency 1)",
            format!("{ratio_limit:.2}×"),
            ratio_limit <= 1.15,
        ),
        target(
            &format!("database path throughput ≥ 0.75× the limit's (concurrency {concurrency})"),
            format!("{throughput_vs_limit:.2}×"),
            throughput_vs_limit >= 0.75,
        ),
        target(
            "secondary-storage (Redis) path p50 ≤ 1.15× its limit, one GET (concurrency 1)",
            format!("{ratio_redis:.2}×"),
            ratio_redis <= 1.15,
        ),
        target(
            "API-key path p50 ≤ 1.15× its limit, the same guarded write (concurrency 1)",
            format!("{api_key_ratio:.2}×"),
            api_key_ratio <= 1.15,
        ),
        target(
            "EdDSA JWT p50 ≤ 1.1× the signature check alone",
            format!("{jwt_ratio:.2}×"),
            jwt_ratio <= 1.1,
        ),
        target(
            "OAuth at+jwt p50 ≤ 1.1× the signature check alone (every request asks the store: client, resources, session, user)",
            format!("{oauth_jwt_ratio:.2}×"),
            oauth_jwt_ratio <= 1.1,
        ),
        target(
            "OAuth at+jwt with the OAuth result cache on (AUTH_RESULT_CACHE_OAUTH_TTL_MS) p50 ≤ 1.1× the signature check alone",
            format!("{oauth_jwt_cached_ratio:.2}×"),
            oauth_jwt_cached_ratio <= 1.1,
        ),
        target(
            "OAuth opaque token p50 ≤ 1.15× its limit, the same lookup statement (concurrency 1)",
            format!("{oauth_opaque_ratio:.2}×"),
            oauth_opaque_ratio <= 1.15,
        ),
        target(
            "DPoP adds ≤ 1.15× its limit (the proof's signature check + one Redis SET NX PX) to the opaque path (p50)",
            format!("{dpop_added:+.2} µs vs {dpop_limit:.2} µs"),
            dpop_added <= 1.15 * dpop_limit,
        ),
        target(
            "route rules (50 rules, 10 roles; decision and REST policy) add ≤ 2 µs p50 to the database path",
            format!("{routes_added:+.2} µs"),
            routes_added <= 2.0,
        ),
        target(
            "organization route, dynamic role (cached) p50 ≤ 1.15× its limit, the same statement (concurrency 1)",
            format!("{org_ratio:.2}×"),
            org_ratio <= 1.15,
        ),
        target(
            "the REST policy for 100 rules (every rule decided, overlaps, ARNs) p50 ≤ 20 µs",
            format!("{:.2} µs", policy_100.p50_us),
            policy_100.p50_us <= 20.0,
        ),
        target(
            "the REST policy for 100 rules, a kind of caller seen before, p50 ≤ 2 µs",
            format!("{:.2} µs", policy_seen.p50_us),
            policy_seen.p50_us <= 2.0,
        ),
        target(
            "bad-signature refusal p50 ≤ 3 µs",
            format!("{:.2} µs", bad_signature.p50_us),
            bad_signature.p50_us <= 3.0,
        ),
        target(
            "metrics on (the EMF record on the decision's line) add ≤ 0.5 µs p50 to the bad-signature refusal",
            format!("{metrics_added:+.2} µs"),
            metrics_added <= 0.5,
        ),
        target(
            "cookie-cache hit p50 ≤ 8 µs",
            format!("{:.2} µs", cookie_cache.p50_us),
            cookie_cache.p50_us <= 8.0,
        ),
        target(
            "result-cache hit p50 ≤ 3 µs",
            format!("{:.2} µs", result_cache.p50_us),
            result_cache.p50_us <= 3.0,
        ),
        target(
            "first invocation after start-up ≤ 1.3× one new PostgreSQL connection",
            first_vs_connect.map_or("n/a".into(), |r| {
                format!(
                    "{r:.2}× ({:.2} ms vs {connect_ms:.2} ms)",
                    memory.first_invocation_ms.unwrap_or(0.0)
                )
            }),
            first_vs_connect.is_some_and(|r| r <= 1.3),
        ),
        target(
            &format!("throughput ≥ 10× Better Auth getSession (concurrency {concurrency})"),
            format!("{:.1}×", ratio_ba),
            ratio_ba >= 10.0,
        ),
        target(
            "start-up (spawn → first `invocation/next`, connection and schema included) p50 < 15 ms",
            format!("{:.2} ms", startup.p50_ms),
            startup.p50_ms < 15.0,
        ),
        target(
            "peak memory (VmHWM after 5000 invocations) < 12 MiB",
            peak_mib.map_or("n/a".into(), |m| format!("{m:.1} MiB")),
            peak_mib.is_some_and(|m| m < 12.0),
        ),
        target(
            "authorizer arm64 zip (`cargo lambda build --release --arm64 --output-format zip`) < 3.5 MB",
            authorizer_zip.map_or("not built".into(), |b| format!("{:.2} MB", b as f64 / 1e6)),
            authorizer_zip.is_some_and(|b| b < 3_500_000),
        ),
    ];
    let capacity_inputs = capacity::Inputs {
        rate: 5000.0,
        lambda_overhead_ms: 1.0,
    };
    let database_us = row(S::Limit)?.p50_us;
    let pooled_us = row(S::PgBouncerPath)?.p50_us - (row(S::DatabasePath)?.p50_us - database_us);
    let capacity_rows = capacity::model(
        capacity_inputs,
        &[
            ("database path", row(S::DatabasePath)?.p50_us, database_us),
            (
                "database path through PgBouncer",
                row(S::PgBouncerPath)?.p50_us,
                pooled_us,
            ),
            ("secondary storage (Redis)", row(S::RedisPath)?.p50_us, 0.0),
            (
                "API key",
                row(S::ApiKeyPath)?.p50_us,
                row(S::ApiKeyLimit)?.p50_us,
            ),
            ("EdDSA JWT", row(S::Jwt)?.p50_us, 0.0),
            ("cookie cache", cookie_cache.p50_us, 0.0),
            ("result cache hit", result_cache.p50_us, 0.0),
        ],
    );
    // Read replicas: a model from the database path's measured times, not a measurement.
    let mut capacity_rows = capacity_rows;
    for replicas in [2, 3] {
        let spread = capacity::spread_over_replicas(
            capacity_inputs,
            &capacity_rows[0],
            database_us,
            replicas,
        );
        capacity_rows.push(spread);
    }
    let wrong: usize = rows.iter().map(|r| r.1.wrong + r.2.wrong).sum();
    eprintln!("bench: instructions per invocation (callgrind) …");
    let counted = match std::env::current_exe() {
        Ok(exe) => instructions::count(&exe).await,
        Err(e) => Err(e.to_string()),
    };
    if let Err(e) = &counted {
        eprintln!("bench: instruction counts skipped: {e}");
    }

    let mut markdown = render(
        &machine,
        concurrency,
        &rows,
        &ba_cn,
        &startup,
        &memory,
        &sizes,
        &targets,
        wrong,
    );
    markdown.push_str(&render_capacity(
        capacity_inputs,
        &capacity_rows,
        connect_ms,
    ));
    markdown.push_str(&render_instructions(&counted));
    println!("{markdown}");
    let report = json!({
        "machine": machine,
        "concurrency": concurrency,
        "ops_per_run": ops,
        "scenarios": rows.iter().map(|(label, c1, cn)| json!({
            "scenario": label,
            "concurrency_1": c1.json(),
            "saturated": cn.json(),
            "p50_vs_limit": round(c1.p50_us / limit_of(&rows, label).p50_us),
            "throughput_vs_better_auth": round(cn.throughput / ba_cn.throughput),
        })).collect::<Vec<_>>(),
        "startup_ms": { "p50": round(startup.p50_ms), "min": round(startup.min_ms), "max": round(startup.max_ms), "runs": startup.runs },
        "first_invocation_ms": memory.first_invocation_ms.map(round),
        "new_connection_ms": round(connect_ms),
        "instructions_per_invocation": match &counted {
            Ok(counts) => json!(counts.iter().map(|(s, n)| (s.label().to_owned(), json!(n))).collect::<serde_json::Map<_, _>>()),
            Err(e) => json!({ "skipped": e }),
        },
        "capacity": capacity::json(capacity_inputs, &capacity_rows),
        "peak_rss_kib": memory.peak_rss_kib,
        "invocations_in_memory_run": memory.invocations,
        "binary_bytes": sizes.iter().map(|(n, b)| (n.clone(), json!(b))).collect::<serde_json::Map<_, _>>(),
        "targets": targets.iter().map(|t| json!({"target": t.0, "measured": t.1, "met": t.2})).collect::<Vec<_>>(),
        "wrong_answers": wrong,
        "markdown": markdown,
    });
    let output = std::env::var("BENCH_OUTPUT").unwrap_or_else(|_| "bench/latest.json".into());
    let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
    std::fs::write(&output, text + "\n").map_err(|e| format!("write {output}: {e}"))?;
    eprintln!("bench: wrote {output}");
    if wrong > 0 {
        return Err(format!("{wrong} wrong answers"));
    }
    Ok(())
}

/// Concurrency 1 as a Lambda sandbox runs it: one event at a time on a single-threaded runtime
/// (what the functions' `main` uses), on a thread of its own.
fn sequential(bench: &Bench, scenario: scenarios::Scenario, ops: usize) -> Result<Stats, String> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| e.to_string())?;
                runtime.block_on(async {
                    let one = bench.workers(scenario, 1).await?;
                    Ok(measure::sequential(&one[0], 500, ops).await)
                })
            })
            .join()
            .map_err(|_| "a benchmark thread panicked".to_owned())?
    })
}

fn target(name: &str, measured: String, met: bool) -> (String, String, bool) {
    (name.to_owned(), measured, met)
}

fn target_dir() -> PathBuf {
    PathBuf::from(std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into()))
}

/// Where this benchmark's own binaries are (the profile it was built with: `make bench` uses
/// `benchmark`).
fn binary_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(std::path::Path::to_path_buf))
        .unwrap_or_else(|| target_dir().join("release"))
}

/// What deploys: each function's arm64 zip as `cargo lambda build --release --arm64
/// --output-format zip` writes it (`make bench` builds them).
fn binary_sizes() -> Vec<(String, u64)> {
    let mut sizes = Vec::new();
    for name in ["authorizer", "me", "users", "sessions"] {
        let zip = target_dir().join("lambda").join(name).join("bootstrap.zip");
        if let Ok(m) = std::fs::metadata(&zip) {
            sizes.push((format!("{name} (arm64 zip)"), m.len()));
        }
    }
    sizes
}

async fn command_line(program: &str, args: &[&str]) -> String {
    match tokio::process::Command::new(program)
        .args(args)
        .output()
        .await
    {
        Ok(out) => String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        Err(_) => "not found".into(),
    }
}

async fn machine(cores: usize, database_url: &str) -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_owned());
    let memory_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map(|kib| round(kib / 1024.0 / 1024.0));
    json!({
        "cpu": cpu,
        "cores": cores,
        "memory_gib": memory_gib,
        "postgresql": seed::server_version(database_url).await.unwrap_or_else(|e| e),
        "node": command_line("node", &["--version"]).await,
        "rustc": command_line("rustc", &["--version"]).await,
        "date": chrono::Utc::now().format("%Y-%m-%d").to_string(),
    })
}

#[allow(clippy::too_many_arguments)]
fn render(
    machine: &Value,
    concurrency: usize,
    rows: &[(String, Stats, Stats)],
    ba: &Stats,
    startup: &scenarios::Startup,
    memory: &scenarios::Memory,
    sizes: &[(String, u64)],
    targets: &[(String, String, bool)],
    wrong: usize,
) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let m = |k: &str| {
        machine[k]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| machine[k].to_string())
    };
    let _ = writeln!(
        out,
        "Machine: {} ({} cores, {} GiB), PostgreSQL {} and Redis {} on the same machine, {}, {}. {}.\n",
        m("cpu"),
        m("cores"),
        m("memory_gib"),
        m("postgresql"),
        m("redis"),
        m("rustc"),
        m("node"),
        m("date")
    );
    let _ = writeln!(
        out,
        "| scenario | c=1 p50 | c=1 p99 | c=1 req/s | c={concurrency} p50 | c={concurrency} p99 | c={concurrency} req/s | p50 / limit | req/s / Better Auth |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (label, c1, cn) in rows {
        let _ = writeln!(
            out,
            "| {label} | {} | {} | {:.0} | {} | {} | {:.0} | {:.2}× | {:.1}× |",
            us(c1.p50_us),
            us(c1.p99_us),
            c1.throughput,
            us(cn.p50_us),
            us(cn.p99_us),
            cn.throughput,
            c1.p50_us / limit_of(rows, label).p50_us,
            cn.throughput / ba.throughput,
        );
    }
    let _ = writeln!(
        out,
        "\nThe authorizer binary under a local Lambda Runtime API stand-in: start-up p50 {:.2} ms (min {:.2}, max {:.2}, {} runs; connects and detects the schema during init); first invocation {}; peak RSS after {} invocations {}.",
        startup.p50_ms,
        startup.min_ms,
        startup.max_ms,
        startup.runs,
        memory
            .first_invocation_ms
            .map_or("n/a".into(), |v| format!("{v:.2} ms")),
        memory.invocations,
        memory
            .peak_rss_kib
            .map_or("n/a".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0)),
    );
    if !sizes.is_empty() {
        let list: Vec<String> = sizes
            .iter()
            .map(|(n, b)| format!("{n} {:.2} MB", *b as f64 / 1e6))
            .collect();
        let _ = writeln!(out, "\nBinary sizes: {}.", list.join(", "));
    }
    let _ = writeln!(out, "\n| target | measured | met |\n|---|---:|:---:|");
    for (name, measured, met) in targets {
        let _ = writeln!(
            out,
            "| {name} | {measured} | {} |",
            if *met { "yes" } else { "**no**" }
        );
    }
    let _ = writeln!(out, "\nWrong answers across every run: {wrong}.");
    out
}

fn render_capacity(
    inputs: capacity::Inputs,
    rows: &[capacity::PathCapacity],
    connect_ms: f64,
) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nCapacity at {:.0} requests/s (simulated, fixed seed; handler times measured above, Lambda's own overhead per invocation assumed {:.1} ms; a new PostgreSQL connection measured {connect_ms:.2} ms):\n",
        inputs.rate, inputs.lambda_overhead_ms
    );
    let _ = writeln!(
        out,
        "| path | handler p50 | sandboxes (mean / peak) | PostgreSQL connections, direct (pool size 1 or 2) | server connections behind a pooler |\n|---|---:|---:|---:|---:|"
    );
    for r in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {:.1} / {} | {} | {} |",
            r.path,
            us(r.handler_us),
            r.sandboxes_mean,
            r.sandboxes_peak,
            r.direct_connections,
            r.pooled_server_connections
        );
    }
    let _ = writeln!(
        out,
        "\nRows marked *model* are computed, not measured: the database path's measured times with its reads spread evenly over N read replicas (`DATABASE_READ_URL` on a reader endpoint); their connection columns are per replica, and the primary then serves only writes, misses and the reads of a lagging or failed replica."
    );
    out
}

fn render_instructions(counted: &Result<Vec<(scenarios::Scenario, u64)>, String>) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    match counted {
        Ok(counts) => {
            let _ = writeln!(
                out,
                "\nInstructions per invocation (callgrind; the handler's own work from the event's bytes to the answer's, without the database driver's connection task):\n\n| path | instructions |\n|---|---:|"
            );
            for (scenario, n) in counts {
                let _ = writeln!(out, "| {} | {n} |", scenario.label());
            }
        }
        Err(e) => {
            let _ = writeln!(out, "\nInstruction counts skipped: {e}.");
        }
    }
    out
}

/// The limit row a row is compared with (Redis rows with the Redis limit, the rest with the
/// PostgreSQL limit, the first row).
fn limit_of<'r>(rows: &'r [(String, Stats, Stats)], label: &str) -> &'r Stats {
    let limit = scenarios::ALL
        .iter()
        .find(|s| s.label() == label)
        .map_or(scenarios::Scenario::Limit, |s| s.limit());
    rows.iter()
        .find(|r| r.0 == limit.label())
        .map_or(&rows[0].1, |r| &r.1)
}

fn us(v: f64) -> String {
    if v >= 1000.0 {
        format!("{:.2} ms", v / 1000.0)
    } else {
        format!("{v:.1} µs")
    }
}
