//! Captures what the code under test logs (the production JSON format) for assertions.

use std::io::Write;
use std::sync::{Arc, Mutex};

/// Log lines written while the guard from [`capture`] is alive (this thread only).
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    /// Everything logged so far.
    pub fn text(&self) -> String {
        let bytes = self.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut b) = self.0.lock() {
            b.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the Lambda JSON subscriber for this thread (a `#[tokio::test]` runs on one).
pub fn capture() -> (tracing::subscriber::DefaultGuard, Captured) {
    let captured = Captured::default();
    let buffer = Arc::clone(&captured.0);
    let subscriber = auth_core::telemetry::json_subscriber(move || Sink(Arc::clone(&buffer)));
    (tracing::subscriber::set_default(subscriber), captured)
}

/// [`capture`] as if `RUST_LOG` were `rust_log`.
pub fn capture_at(rust_log: &str) -> (tracing::subscriber::DefaultGuard, Captured) {
    let captured = Captured::default();
    let buffer = Arc::clone(&captured.0);
    let subscriber = auth_core::telemetry::json_subscriber_with(
        move || Sink(Arc::clone(&buffer)),
        auth_core::telemetry::filter_from(Some(rust_log)),
    );
    (tracing::subscriber::set_default(subscriber), captured)
}
