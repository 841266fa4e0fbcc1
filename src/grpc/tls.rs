//! TLS on the gRPC listener, accepted here rather than by tonic's `tls_config`.
//!
//! tokio-rustls's stream says it writes vectored, and h2 then flushes every DATA frame over
//! 256 bytes on its own: each ValidateToken answer became a TLS record and a `send` of its
//! own. [`TlsConn`] says it does not (as [`Conn`] does on plaintext), so the answers of many
//! streams leave in one record and one write. Everything else is what tonic's acceptor does:
//! the same `ServerConfig` (config/transport.rs), the handshake within `handshake_timeout`,
//! handshakes in parallel, and tonic's own connection info, so `peer_certs()` and the peer
//! address read as before.
use std::{
    io,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use futures::{Stream, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_rustls::{rustls::ServerConfig, server::TlsStream, TlsAcceptor};
use tonic::transport::server::{Connected, TcpConnectInfo, TlsConnectInfo};

use super::connections::Conn;

/// A connection after its TLS handshake.
pub struct TlsConn(Box<TlsStream<Conn>>);

/// `plain` after a TLS handshake each, at most `parallel` at once (`max_connections` already
/// bounds them). A failed or late handshake closes its connection and is logged at debug, as
/// tonic does; accept errors pass through. A handshake still running when the listener closes
/// ends within `handshake_timeout`.
pub fn incoming(
    plain: impl Stream<Item = io::Result<Conn>>,
    config: Arc<ServerConfig>,
    handshake_timeout: Duration,
    parallel: usize,
) -> impl Stream<Item = io::Result<TlsConn>> {
    let acceptor = TlsAcceptor::from(config);
    plain
        .map(move |accepted| {
            let acceptor = acceptor.clone();
            // A task each, as tonic does: the handshakes of a reconnect storm use every core,
            // not only the accept loop's.
            tokio::spawn(async move {
                match accepted {
                    Ok(conn) => handshake(&acceptor, conn, handshake_timeout).await.map(Ok),
                    Err(e) => Some(Err(e)),
                }
            })
        })
        .buffer_unordered(parallel.max(1))
        .filter_map(|joined| std::future::ready(joined.ok().flatten()))
}

async fn handshake(acceptor: &TlsAcceptor, conn: Conn, within: Duration) -> Option<TlsConn> {
    match tokio::time::timeout(within, acceptor.accept(conn)).await {
        Ok(Ok(tls)) => Some(TlsConn(Box::new(tls))),
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "TLS handshake failed");
            None
        }
        Err(_) => {
            tracing::debug!("no TLS handshake within handshake_timeout");
            None
        }
    }
}

impl Connected for TlsConn {
    type ConnectInfo = TlsConnectInfo<TcpConnectInfo>;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.0.connect_info()
    }
}

impl AsyncRead for TlsConn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.get_mut().0).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsConn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.get_mut().0).poll_write(cx, buf)
    }

    /// See the module's comment: h2 copies answers up to 1 KiB and writes them together.
    fn is_write_vectored(&self) -> bool {
        false
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.get_mut().0).poll_shutdown(cx)
    }
}
