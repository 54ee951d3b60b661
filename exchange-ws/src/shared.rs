//! State shared by the manager handle and its connection task (never the handle itself).

use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use crate::config::WebSocketConfig;
use crate::handler::HandlerInbox;
use crate::link::Link;
use crate::report::Counters;
use crate::status::StatusCell;
use crate::subscriptions::Subscriptions;
use crate::telemetry::WsMetrics;

/// A request to the connection task.
#[derive(Debug)]
pub(crate) enum Control {
    /// Send the subscriptions not yet sent on this connection.
    SyncSubscriptions,
    /// Tell the venue, if the channel was sent on connection `sent_on`.
    Unsubscribe { channel: String, sent_on: u64 },
    /// Replace the connection now.
    Reconnect,
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: WebSocketConfig,
    url: Mutex<String>,
    pub(crate) status: StatusCell,
    pub(crate) counters: Counters,
    /// The counters as `metrics`, registered once for the manager.
    pub(crate) metrics: WsMetrics,
    pub(crate) subscriptions: Subscriptions,
    pub(crate) handlers: HandlerInbox,
    /// The live socket, shared with senders that write directly.
    pub(crate) link: Link,
    tls: OnceLock<Arc<rustls::ClientConfig>>,
}

impl Shared {
    pub(crate) fn new(config: WebSocketConfig) -> Self {
        Self {
            url: Mutex::new(config.url.clone()),
            link: Link::new(config.send_limit),
            metrics: WsMetrics::register(&crate::manager::component_name(&config.name)),
            config,
            status: StatusCell::new(),
            counters: Counters::default(),
            subscriptions: Subscriptions::default(),
            handlers: HandlerInbox::default(),
            tls: OnceLock::new(),
        }
    }

    pub(crate) fn url(&self) -> String {
        self.url
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn set_url(&self, url: String) {
        *self.url.lock().unwrap_or_else(PoisonError::into_inner) = url;
    }

    /// When the close handshake must end: `close_timeout` from now, cut to end just before
    /// the stop's grace period (`grace`, from the task manager) so the task stops
    /// cooperatively, never aborted.
    pub(crate) fn close_deadline(&self, grace: Option<Instant>) -> Instant {
        let now = Instant::now();
        let own = now + self.config.close_timeout;
        match grace {
            Some(grace) => {
                let margin =
                    (grace.saturating_duration_since(now) / 20).max(Duration::from_millis(1));
                own.min(grace.checked_sub(margin).unwrap_or(now).max(now))
            }
            None => own,
        }
    }

    /// The TLS configuration: the configured one, or rustls with ring and the webpki roots
    /// (built once, with an explicit provider so it never depends on a process default).
    pub(crate) fn tls(&self) -> Result<Arc<rustls::ClientConfig>, rustls::Error> {
        if let Some(tls) = &self.config.tls {
            return Ok(tls.clone());
        }
        if let Some(tls) = self.tls.get() {
            return Ok(tls.clone());
        }
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(self.tls.get_or_init(|| Arc::new(config)).clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_tls_config_builds_with_an_explicit_provider() {
        let shared = Shared::new(WebSocketConfig::mexc_public());
        let first = shared.tls().unwrap();
        let second = shared.tls().unwrap();
        assert!(Arc::ptr_eq(&first, &second), "built once");
    }

    #[tokio::test(start_paused = true)]
    async fn the_close_ends_before_the_grace_period() {
        let shared = Shared::new(WebSocketConfig {
            close_timeout: Duration::from_secs(10),
            ..WebSocketConfig::new("t", "ws://127.0.0.1:1/ws")
        });
        let now = Instant::now();
        assert_eq!(shared.close_deadline(None), now + Duration::from_secs(10));
        let grace = now + Duration::from_millis(100);
        assert_eq!(
            shared.close_deadline(Some(grace)),
            now + Duration::from_millis(95)
        );
        assert_eq!(shared.close_deadline(Some(now)), now);
        let late = now + Duration::from_secs(60);
        assert_eq!(
            shared.close_deadline(Some(late)),
            now + Duration::from_secs(10)
        );
    }
}
