//! Limits on client connections, applied where they are accepted: at most `max_connections`
//! open (one more is closed at once), the HTTP/2 preface within `handshake_timeout`, and the
//! close of a connection without a call in progress for `idle_timeout`. hyper has none of these;
//! its view of a connection is the byte stream, which [`Conn`] wraps.
use std::{
    collections::HashMap,
    future::Future,
    io,
    net::SocketAddr,
    pin::Pin,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex, MutexGuard, PoisonError,
    },
    task::{Context, Poll},
    time::Duration,
};

use futures::{Stream, StreamExt};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{OwnedSemaphorePermit, Semaphore},
    time::{Instant, Sleep},
};
use tonic::transport::server::{Connected, TcpConnectInfo, TcpIncoming};

pub use super::calls::CallTracking;
use super::calls::Calls;
use crate::config::transport::ConnectionConfig;

/// Length of the HTTP/2 client preface ("PRI * HTTP/2.0…"); a TLS ClientHello is longer.
const PREFACE_BYTES: usize = 24;
/// A flood of refused connections logs one line per this, not one per connection.
const WARN_EVERY: Duration = Duration::from_secs(10);

/// The open connections: their permits, and their calls by peer address (how a call, which
/// knows only the connection's [`TcpConnectInfo`], finds its connection).
#[derive(Clone)]
pub struct Connections {
    shared: Arc<Shared>,
}

struct Shared {
    config: ConnectionConfig,
    permits: Arc<Semaphore>,
    open: Mutex<HashMap<SocketAddr, Arc<Calls>>>,
    refused: AtomicUsize,
    warned: Mutex<Option<Instant>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Connections {
    pub fn new(config: ConnectionConfig) -> Self {
        let shared = Shared {
            permits: Arc::new(Semaphore::new(config.max_connections)),
            config,
            open: Mutex::default(),
            refused: AtomicUsize::new(0),
            warned: Mutex::new(None),
        };
        Self {
            shared: Arc::new(shared),
        }
    }

    /// Accepted connections with TCP_NODELAY (without it every small response waits on the
    /// peer's delayed ACK, ~40 ms on Linux), beyond `max_connections` closed at once.
    pub fn incoming(&self, listener: TcpListener) -> impl Stream<Item = io::Result<Conn>> {
        let this = self.clone();
        TcpIncoming::from(listener)
            .with_nodelay(Some(true))
            .filter_map(move |accepted| {
                std::future::ready(match accepted {
                    Ok(tcp) => this.admit(tcp).map(Ok),
                    Err(e) => Some(Err(e)),
                })
            })
    }

    /// Counts the calls of the connection each request arrives on, for the idle timeout.
    pub fn call_tracking(&self) -> CallTracking {
        let shared = self.shared.clone();
        CallTracking::new(Arc::new(move |peer: SocketAddr| {
            lock(&shared.open).get(&peer).cloned()
        }))
    }

    fn admit(&self, tcp: TcpStream) -> Option<Conn> {
        let Ok(permit) = self.shared.permits.clone().try_acquire_owned() else {
            self.refused();
            return None; // dropping it closes it
        };
        let peer = tcp.peer_addr().ok();
        let calls = Arc::new(Calls::new());
        if let Some(peer) = peer {
            lock(&self.shared.open).insert(peer, calls.clone());
        }
        let accepted = Instant::now();
        let first_check = accepted + self.shared.config.handshake_timeout;
        Some(Conn {
            tcp,
            calls,
            peer,
            shared: self.shared.clone(),
            _permit: permit,
            accepted,
            read: 0,
            timer: Some(Box::pin(tokio::time::sleep_until(first_check))),
        })
    }

    fn refused(&self) {
        let total = self.shared.refused.fetch_add(1, Ordering::Relaxed) + 1;
        let mut warned = lock(&self.shared.warned);
        if warned.is_none_or(|at| at.elapsed() >= WARN_EVERY) {
            *warned = Some(Instant::now());
            tracing::warn!(
                max_connections = self.shared.config.max_connections,
                refused_total = total,
                "connection closed at once: max_connections are open"
            );
        }
    }
}

/// An accepted connection, holding its place among `max_connections` until it is dropped.
pub struct Conn {
    tcp: TcpStream,
    calls: Arc<Calls>,
    peer: Option<SocketAddr>,
    shared: Arc<Shared>,
    _permit: OwnedSemaphorePermit,
    accepted: Instant,
    read: usize,
    timer: Option<Pin<Box<Sleep>>>,
}

impl Conn {
    /// When the connection is to be closed if nothing changes: the handshake deadline until
    /// the preface is in, then `idle_timeout` after its last call ended (while a call is in
    /// progress, a time to look again).
    fn deadline(&self) -> Option<Instant> {
        let config = &self.shared.config;
        if self.read < PREFACE_BYTES {
            return Some(self.accepted + config.handshake_timeout);
        }
        let idle = config.idle_timeout?;
        Some(self.calls.idle_since().unwrap_or_else(Instant::now) + idle)
    }

    /// Whether the deadline has passed; otherwise the timer is set to wake this task then.
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        loop {
            let Some(timer) = self.timer.as_mut() else {
                return false;
            };
            if timer.as_mut().poll(cx).is_pending() {
                return false;
            }
            match (self.deadline(), self.timer.as_mut()) {
                (Some(at), _) if at <= Instant::now() => return true,
                (Some(at), Some(timer)) => timer.as_mut().reset(at),
                _ => self.timer = None,
            }
        }
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        let Some(peer) = self.peer else { return };
        let mut open = lock(&self.shared.open);
        // A later connection from the same address may have taken the entry over.
        if open.get(&peer).is_some_and(|c| Arc::ptr_eq(c, &self.calls)) {
            open.remove(&peer);
        }
    }
}

impl Connected for Conn {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        self.tcp.connect_info()
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        // hyper reads all the time, so this is where the deadline is watched; an error ends the
        // connection at once (no call is in progress, so none is cut).
        if this.expired(cx) {
            let why = match this.read < PREFACE_BYTES {
                true => "no HTTP/2 preface within handshake_timeout",
                false => "no call within connection_idle_timeout",
            };
            tracing::debug!(peer = ?this.peer, why, "connection closed");
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, why)));
        }
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.tcp).poll_read(cx, buf);
        this.read = this.read.saturating_add(buf.filled().len() - before);
        polled
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write_vectored(cx, bufs)
    }

    /// Reported as not vectored on purpose: h2 then copies a DATA frame of up to 1 KiB into its
    /// write buffer (256 bytes when vectored), so a ValidateToken answer (300 to 600 bytes) no
    /// longer forces a flush of its own, and the answers of many streams leave in one write.
    fn is_write_vectored(&self) -> bool {
        false
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }
}
