//! A TCP proxy in front of PostgreSQL that a test can make misbehave the way networks do:
//! stall every byte (a frozen server or network), or silently black-hole the connections that
//! exist now while new ones work (what a Lambda sandbox meets after being frozen for a while:
//! NAT and server-side idle timeouts have dropped its connections without telling it).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Default)]
struct State {
    stalled: AtomicBool,
    /// Connections with a number below this are black holes.
    cut_below: AtomicU64,
    next: AtomicU64,
    opened: AtomicU64,
}

/// A running proxy; stops with the test's runtime.
pub struct Proxy {
    state: Arc<State>,
    /// `127.0.0.1:<port>`.
    pub address: String,
}

impl Proxy {
    /// Listens on a free loopback port and forwards to `upstream` (`host:port`).
    pub async fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let address = listener.local_addr().expect("proxy address").to_string();
        let state = Arc::new(State::default());
        let upstream = upstream.to_owned();
        let shared = Arc::clone(&state);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let state = Arc::clone(&shared);
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let id = state.next.fetch_add(1, Ordering::SeqCst);
                    while state.stalled.load(Ordering::SeqCst) {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    let Ok(server) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    state.opened.fetch_add(1, Ordering::SeqCst);
                    let (cr, cw) = client.into_split();
                    let (sr, sw) = server.into_split();
                    tokio::spawn(pipe(cr, sw, Arc::clone(&state), id));
                    tokio::spawn(pipe(sr, cw, state, id));
                });
            }
        });
        Self { state, address }
    }

    /// Holds every byte (both ways, all connections, new ones too) until [`Proxy::resume`].
    pub fn stall(&self) {
        self.state.stalled.store(true, Ordering::SeqCst);
    }

    /// Forwards again.
    pub fn resume(&self) {
        self.state.stalled.store(false, Ordering::SeqCst);
    }

    /// Every connection open now becomes a silent black hole (nothing forwarded, nothing
    /// closed); connections opened later work.
    pub fn black_hole_existing(&self) {
        let next = self.state.next.load(Ordering::SeqCst);
        self.state.cut_below.store(next, Ordering::SeqCst);
    }

    /// Upstream connections opened so far.
    pub fn opened(&self) -> u64 {
        self.state.opened.load(Ordering::SeqCst)
    }
}

async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    state: Arc<State>,
    id: u64,
) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        loop {
            if id < state.cut_below.load(Ordering::SeqCst) {
                // A black hole: keep the sockets open, forward nothing, ever.
                std::future::pending::<()>().await;
            }
            if !state.stalled.load(Ordering::SeqCst) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}
