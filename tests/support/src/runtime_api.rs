//! A stand-in for the Lambda Runtime API: runs a function's real binary (lambda_runtime's own
//! code path: its invocation span, its logging) on one event and hands back the answer and
//! everything the binary wrote.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The X-Ray trace header the stand-in hands the binary with its one event.
pub const TRACE_ID: &str =
    "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0";

/// The request id of that event.
pub const REQUEST_ID: &str = "req-1";

/// What one run produced.
#[derive(Debug)]
pub struct Run {
    /// The path and body the binary posted back (`…/response` or `…/error`).
    pub answer: String,
    /// stdout then stderr.
    pub logs: String,
}

/// Runs `binary` with only `env` (plus the runtime's own variables) on `event`, and stops it
/// once it has answered. Panics with the logs when no answer comes within 60 s.
pub fn run_once(binary: &str, function_name: &str, env: &[(&str, &str)], event: &str) -> Run {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    let (answers_tx, answers) = mpsc::channel();
    let served = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let event = event.to_owned();
    std::thread::spawn({
        let served = std::sync::Arc::clone(&served);
        move || {
            for stream in listener.incoming().flatten() {
                let (event, served, answers) = (
                    event.clone(),
                    std::sync::Arc::clone(&served),
                    answers_tx.clone(),
                );
                std::thread::spawn(move || serve(stream, event, &served, answers));
            }
        }
    });
    let mut command = Command::new(binary);
    command
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", function_name)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env(
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{function_name}"),
        )
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "test");
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the function");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let answer = answers.recv_timeout(Duration::from_secs(60));
    // Let the runtime write what it writes after answering, then stop it.
    std::thread::sleep(Duration::from_millis(300));
    let _ = child.kill();
    let _ = child.wait();
    let logs = format!(
        "{}{}",
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default()
    );
    let answer = answer.unwrap_or_else(|_| panic!("no answer from {binary}: {logs}"));
    Run { answer, logs }
}

/// One HTTP/1.1 request on `reader`: method, path, body (content-length or chunked).
pub(crate) fn read_request(reader: &mut BufReader<TcpStream>) -> Option<(String, String, Vec<u8>)> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let (mut length, mut chunked) = (0usize, false);
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 {
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
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.eq_ignore_ascii_case("chunked");
            }
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).ok()?;
            let size = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).ok()?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else {
        body.resize(length, 0);
        reader.read_exact(&mut body).ok()?;
    }
    Some((method, path, body))
}

/// Serves one connection: the event on the first `invocation/next`, nothing on the next one;
/// every answer (`/response`, `/error`) goes to `answers`.
fn serve(
    stream: TcpStream,
    event: String,
    served: &std::sync::atomic::AtomicBool,
    answers: mpsc::Sender<String>,
) {
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    while let Some((method, path, body)) = read_request(&mut reader) {
        let response = if method == "GET" && path.ends_with("/runtime/invocation/next") {
            if served.swap(true, std::sync::atomic::Ordering::SeqCst) {
                // No second event: hang as Lambda would freeze the sandbox.
                std::thread::sleep(Duration::from_secs(120));
                return;
            }
            let deadline = chrono::Utc::now().timestamp_millis() + 30_000;
            format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                 lambda-runtime-aws-request-id: {REQUEST_ID}\r\n\
                 lambda-runtime-deadline-ms: {deadline}\r\n\
                 lambda-runtime-invoked-function-arn: arn:aws:lambda:us-east-1:123456789012:function:test\r\n\
                 lambda-runtime-trace-id: {TRACE_ID}\r\n\
                 content-length: {}\r\n\r\n{event}",
                event.len()
            )
        } else {
            let _ = answers.send(format!("{path} {}", String::from_utf8_lossy(&body)));
            let body = r#"{"status":"OK"}"#;
            format!(
                "HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            )
        };
        if writer.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}
