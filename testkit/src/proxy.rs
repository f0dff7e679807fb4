//! A TCP proxy in front of PostgreSQL whose link a test can cut, to watch outages.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

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
}

impl Proxy {
    /// Starts a proxy on a free loopback port, forwarding to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy bind");
        let addr = listener.local_addr().expect("proxy addr");
        let shared = Arc::new(Shared { mode: Mutex::new(Mode::Forward), links: Mutex::new(vec![]) });
        let state = shared.clone();
        let accept = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let mode = *state.mode.lock().expect("mode");
                let link = tokio::spawn(async move {
                    match mode {
                        Mode::Forward => {
                            if let Ok(mut outbound) = TcpStream::connect(upstream).await {
                                let mut inbound = inbound;
                                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
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
