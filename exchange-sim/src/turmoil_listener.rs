//! [`TurmoilListener`]: the venue's listener inside a turmoil simulation (feature
//! `simulation`), so the real venue serves the real clients over a simulated network.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

/// turmoil's `TcpListener` as an [`axum::serve::Listener`] for
/// [`SimVenue::serve`](crate::SimVenue::serve).
///
/// Only inside a turmoil simulation (binding needs its world); bind `0.0.0.0:PORT`.
pub struct TurmoilListener {
    inner: turmoil::net::TcpListener,
}

impl std::fmt::Debug for TurmoilListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurmoilListener")
            .field("local_addr", &self.inner.local_addr().ok())
            .finish()
    }
}

impl TurmoilListener {
    /// Binds `addr` on the current simulated host.
    ///
    /// # Errors
    /// As turmoil's `bind` (an address in use, an unsupported address).
    pub async fn bind(addr: impl turmoil::ToSocketAddrs) -> io::Result<Self> {
        Ok(Self {
            inner: turmoil::net::TcpListener::bind(addr).await?,
        })
    }
}

impl axum::serve::Listener for TurmoilListener {
    type Io = turmoil::net::TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok(accepted) => return accepted,
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}
