//! A stand-in OpenTelemetry collector: an HTTP listener on a free port that answers every
//! request with 200 and keeps what was posted to it (OTLP/HTTP's protobuf bodies), for the tests
//! of span export.

use std::io::{BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::runtime_api::read_request;

/// One request received: its path and body.
pub type Received = (String, Vec<u8>);

/// The collector; it listens until the process ends.
pub struct Collector {
    /// `http://127.0.0.1:<port>`: what `OTEL_EXPORTER_OTLP_ENDPOINT` names.
    pub endpoint: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Collector {
    /// Starts listening.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let endpoint = format!("http://{}", listener.local_addr().expect("address"));
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let keep = Arc::clone(&received);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let keep = Arc::clone(&keep);
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream);
                    while let Some((_, path, body)) = read_request(&mut reader) {
                        if let Ok(mut all) = keep.lock() {
                            all.push((path, body));
                        }
                        let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
                        if reader.get_mut().write_all(answer).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Self { endpoint, received }
    }

    /// Every body posted to `path` so far.
    pub fn bodies(&self, path: &str) -> Vec<Vec<u8>> {
        self.received
            .lock()
            .map(|r| {
                r.iter()
                    .filter(|(p, _)| p == path)
                    .map(|(_, b)| b.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The first body posted to `path` holding every one of `needles`, waiting up to
    /// `timeout`; `Err` with what was received instead.
    pub fn wait_for(
        &self,
        path: &str,
        needles: &[&[u8]],
        timeout: Duration,
    ) -> Result<Vec<u8>, String> {
        let deadline = Instant::now() + timeout;
        loop {
            let received = self.received.lock().map(|r| r.clone()).unwrap_or_default();
            if let Some((_, body)) = received.iter().find(|(p, body)| {
                p == path
                    && needles
                        .iter()
                        .all(|n| body.windows(n.len()).any(|w| w == *n))
            }) {
                return Ok(body.clone());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "{} requests, none to {path} with all of {:?}: {:?}",
                    received.len(),
                    needles
                        .iter()
                        .map(|n| String::from_utf8_lossy(n).into_owned())
                        .collect::<Vec<_>>(),
                    received
                        .iter()
                        .map(|(p, b)| (p.as_str(), b.len()))
                        .collect::<Vec<_>>()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
