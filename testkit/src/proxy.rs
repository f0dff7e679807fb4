//! A TCP proxy in front of PostgreSQL whose link a test can cut, to watch outages, and that
//! counts round trips: how often a client spoke after hearing back.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// What the proxy does with connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Pass bytes both ways.
    Forward,
    /// Close new and open connections at once, as a stopped server does.
    Refuse,
    /// Accept and never answer, as a host that drops packets does.
    Blackhole,
}

/// A running proxy; dropped, it stops.
pub struct Proxy {
    /// Where clients connect.
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

struct Shared {
    mode: Mutex<Mode>,
    links: Mutex<Vec<JoinHandle<()>>>,
    /// Round trips so far: each run of client bytes that follows the server's (or starts a link).
    round_trips: AtomicU64,
}

impl Proxy {
    /// Starts a proxy on a free loopback port, forwarding to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy bind");
        let addr = listener.local_addr().expect("proxy addr");
        let shared = Arc::new(Shared {
            mode: Mutex::new(Mode::Forward),
            links: Mutex::new(vec![]),
            round_trips: AtomicU64::new(0),
        });
        let state = shared.clone();
        let accept = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let mode = *state.mode.lock().expect("mode");
                let counts = state.clone();
                let link = tokio::spawn(async move {
                    match mode {
                        Mode::Forward => {
                            if let Ok(outbound) = TcpStream::connect(upstream).await {
                                forward(inbound, outbound, &counts).await;
                            }
                        }
                        Mode::Refuse => drop(inbound),
                        Mode::Blackhole => {
                            let _held = inbound;
                            std::future::pending::<()>().await;
                        }
                    }
                });
                state.links.lock().expect("links").push(link);
            }
        });
        Proxy { addr, shared, accept }
    }

    /// Round trips clients have made through the proxy so far.
    pub fn round_trips(&self) -> u64 {
        self.shared.round_trips.load(Ordering::SeqCst)
    }

    /// Switches mode; leaving Forward cuts every open connection.
    pub fn set_mode(&self, mode: Mode) {
        *self.shared.mode.lock().expect("mode") = mode;
        if mode != Mode::Forward {
            for link in self.shared.links.lock().expect("links").drain(..) {
                link.abort();
            }
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        for link in self.shared.links.lock().expect("links").drain(..) {
            link.abort();
        }
    }
}

/// Copies bytes both ways until either side closes, counting the client's round trips: a
/// pipelined exchange (several statements written before any answer) counts once. One task
/// reads both sides, the client's first, so bytes the client sent before an answer came back
/// are never taken for a new round trip just because the proxy read them late.
async fn forward(inbound: TcpStream, outbound: TcpStream, shared: &Shared) {
    let (mut client_read, mut client_write) = inbound.into_split();
    let (mut server_read, mut server_write) = outbound.into_split();
    let (mut up, mut down) = (vec![0u8; 16 * 1024], vec![0u8; 16 * 1024]);
    // Whether the client has spoken since the server last did.
    let mut awaiting = false;
    loop {
        tokio::select! {
            biased;
            read = client_read.read(&mut up) => {
                let Ok(n @ 1..) = read else { break };
                if !awaiting {
                    shared.round_trips.fetch_add(1, Ordering::SeqCst);
                    awaiting = true;
                }
                if server_write.write_all(&up[..n]).await.is_err() {
                    break;
                }
            }
            read = server_read.read(&mut down) => {
                let Ok(n @ 1..) = read else { break };
                awaiting = false;
                if client_write.write_all(&down[..n]).await.is_err() {
                    break;
                }
            }
        }
    }
}
