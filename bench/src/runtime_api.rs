//! A minimal local stand-in for the Lambda Runtime API (`/2018-06-01/runtime/...`), enough to run
//! a function's real release binary as Lambda would: it hands out events on
//! `GET invocation/next`, takes answers on `POST invocation/{id}/response|error`, and times
//! everything from the moment the process is spawned.

use std::collections::VecDeque;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// What one run of a binary showed.
#[derive(Debug)]
pub struct BinaryRun {
    /// From spawning the process to its first `GET invocation/next`: the cold start.
    pub startup: Duration,
    /// From handing out the first event to its answer (includes connecting to the database).
    pub first_invocation: Option<Duration>,
    /// Every answer, in order: `Ok(body)` for a response, `Err(body)` for an error report.
    pub answers: Vec<Result<Value, Value>>,
    /// The process's peak resident set (VmHWM) in KiB once every event was answered.
    pub peak_rss_kib: Option<u64>,
}

enum Seen {
    Next(Instant),
    Answer(Instant, Result<Value, Value>),
}

struct Shared {
    events: VecDeque<Value>,
    next_id: u64,
}

/// Runs `binary` with `env` (and nothing else in its environment but the runtime's variables),
/// feeds it `events` one at a time, and stops it once they are all answered.
pub async fn run(
    binary: &Path,
    env: &[(String, String)],
    events: Vec<Value>,
) -> Result<BinaryRun, String> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("bind: {e}"))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    let total = events.len();
    let shared = Arc::new(Mutex::new(Shared {
        events: events.into(),
        next_id: 0,
    }));
    let (seen_tx, mut seen_rx) = mpsc::unbounded_channel::<Seen>();
    let server = tokio::spawn({
        let shared = Arc::clone(&shared);
        async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, Arc::clone(&shared), seen_tx.clone()));
            }
        }
    });

    let mut command = tokio::process::Command::new(binary);
    command
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "authorizer")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/authorizer")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let spawned = Instant::now();
    let mut child = command
        .spawn()
        .map_err(|e| format!("spawn {}: {e}", binary.display()))?;
    let pid = child.id();

    let mut startup = None;
    let mut first_invocation = None;
    let mut handed_out_first: Option<Instant> = None;
    let mut answers = Vec::with_capacity(total);
    let mut peak_rss_kib = None;
    let deadline = Duration::from_secs(120);
    loop {
        let seen = tokio::select! {
            seen = seen_rx.recv() => seen,
            status = child.wait() => {
                let mut stderr = String::new();
                if let Some(mut err) = child.stderr.take() {
                    let _ = err.read_to_string(&mut stderr).await;
                }
                server.abort();
                return Err(format!("the binary exited ({status:?}) before answering every event: {stderr}"));
            }
            () = tokio::time::sleep(deadline) => {
                server.abort();
                return Err("the binary did not finish within 120 s".into());
            }
        };
        match seen {
            Some(Seen::Next(at)) => {
                if startup.is_none() {
                    startup = Some(at - spawned);
                    handed_out_first = Some(at);
                }
                if answers.len() == total {
                    // Idle, waiting for an event that will not come: done.
                    peak_rss_kib = pid.and_then(peak_rss);
                    break;
                }
            }
            Some(Seen::Answer(at, answer)) => {
                if first_invocation.is_none() {
                    first_invocation = handed_out_first.map(|t| at - t);
                }
                answers.push(answer);
            }
            None => break,
        }
    }
    let _ = child.kill().await;
    server.abort();
    Ok(BinaryRun {
        startup: startup.ok_or("the binary never asked for an event")?,
        first_invocation,
        answers,
        peak_rss_kib,
    })
}

/// VmHWM from /proc (Linux).
fn peak_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

async fn serve(stream: TcpStream, shared: Arc<Mutex<Shared>>, seen: mpsc::UnboundedSender<Seen>) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    loop {
        let Some((method, path, body)) = read_request(&mut reader).await else {
            return;
        };
        let response = if method == "GET" && path.ends_with("/runtime/invocation/next") {
            let next = {
                let Ok(mut state) = shared.lock() else { return };
                let event = state.events.pop_front();
                state.next_id += 1;
                event.map(|e| (state.next_id, e))
            };
            let _ = seen.send(Seen::Next(Instant::now()));
            match next {
                Some((id, event)) => {
                    let body = event.to_string();
                    let deadline = chrono::Utc::now().timestamp_millis() + 30_000;
                    format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nlambda-runtime-aws-request-id: req-{id}\r\n\
                         lambda-runtime-deadline-ms: {deadline}\r\n\
                         lambda-runtime-invoked-function-arn: arn:aws:lambda:us-east-1:123456789012:function:authorizer\r\n\
                         lambda-runtime-trace-id: Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0\r\n\
                         content-length: {}\r\n\r\n{body}",
                        body.len()
                    )
                }
                // No more events: never answer (Lambda would freeze the sandbox here).
                None => return std::future::pending().await,
            }
        } else if method == "POST" && (path.ends_with("/response") || path.ends_with("/error")) {
            let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let answer = if path.ends_with("/response") {
                Ok(value)
            } else {
                Err(value)
            };
            let _ = seen.send(Seen::Answer(Instant::now(), answer));
            accepted()
        } else {
            // init/error and anything else.
            let _ = seen.send(Seen::Answer(
                Instant::now(),
                Err(serde_json::from_slice(&body).unwrap_or(Value::Null)),
            ));
            accepted()
        };
        if write.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

fn accepted() -> String {
    let body = r#"{"status":"OK"}"#;
    format!(
        "HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// One HTTP/1.1 request: method, path and body (content-length or chunked).
async fn read_request<R: tokio::io::AsyncBufRead + Unpin>(
    reader: &mut R,
) -> Option<(String, String, Vec<u8>)> {
    let mut line = String::new();
    if reader.read_line(&mut line).await.ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut length = 0usize;
    let mut chunked = false;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).await.ok()? == 0 {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value.parse().ok()?;
            } else if name.eq_ignore_ascii_case("transfer-encoding")
                && value.eq_ignore_ascii_case("chunked")
            {
                chunked = true;
            }
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).await.ok()?;
            let size = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).await.ok()?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else {
        body.resize(length, 0);
        reader.read_exact(&mut body).await.ok()?;
    }
    Some((method, path, body))
}
