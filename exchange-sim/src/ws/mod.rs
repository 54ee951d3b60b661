//! The websocket endpoint `/ws` (public) and `/ws?listenKey=...` (public + private).

pub mod aggregate;
pub mod channel;
mod connection;
pub mod encode;
pub mod hub;

use std::sync::Arc;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{State, WebSocketUpgrade};
use axum::http::Uri;
use axum::response::{IntoResponse, Response};

use crate::app::App;
use crate::error::ApiError;
use crate::params::Params;

/// Flush the aggregated channels of interval `interval` (an index into
/// [`channel::INTERVALS`]) once per period until the venue stops. Each flush waits a full
/// period after the previous one (a fixed-rate timer would fire early after a late tick), so
/// no channel ever pushes twice within one window.
pub(crate) async fn flush_aggregated(app: Arc<App>, interval: usize) {
    let Some(period) = channel::INTERVAL_PERIODS.get(interval).copied() else {
        return;
    };
    let mut shutdown = app.tasks.signal();
    loop {
        tokio::select! {
            biased;
            () = crate::shutdown::wait_until(&mut shutdown, true) => return,
            () = tokio::time::sleep(period) => app.hub.flush(interval),
        }
    }
}

/// Upgrade to a websocket; a `listenKey` must be live.
pub(crate) async fn upgrade(
    State(app): State<Arc<App>>,
    uri: Uri,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => {
            return ApiError::with_status(rejection.status(), 400, rejection.body_text())
                .into_response();
        }
    };
    if app.faults.is_refusing_websockets() {
        return ApiError::with_status(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            503,
            "Service Unavailable (websockets refused)",
        )
        .into_response();
    }
    let params = match Params::parse(uri.query().unwrap_or_default(), b"") {
        Ok(params) => params,
        Err(e) => return e.into_response(),
    };
    let private = match params.get("listenKey") {
        Some(key) => match app.listen_keys.lookup(key) {
            Some(account) => Some((account, key.to_owned())),
            None => return ApiError::invalid_listen_key().into_response(),
        },
        None => None,
    };
    upgrade.on_upgrade(move |socket| async move {
        let tracked = app.clone();
        let connection = connection::run(app, socket, private);
        if !tracked.tasks.spawn(connection) {
            tracing::debug!("websocket refused: venue is shutting down");
        }
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use mexc_proto::PushDataV3ApiWrapper;
    use mexc_proto::push_data_v3_api_wrapper::Body;
    use prost::Message as _;
    use rust_decimal::Decimal;
    use tokio::time::Instant;

    use crate::app::App;
    use crate::config::SimConfig;
    use crate::matching::{NewOrder, Side};

    /// A venue's state (no server) subscribed to `channel`, with the 100 ms flusher running.
    fn venue_flushing(
        channel: &str,
    ) -> (
        Arc<App>,
        tokio::sync::broadcast::Receiver<bytes::Bytes>,
        tokio::task::JoinHandle<()>,
    ) {
        let app = Arc::new({
            let config = SimConfig::paused();
            let state = crate::SimState::new(&config).unwrap_or_else(|e| panic!("{e}"));
            App::new(config, state)
        });
        let frames = app
            .hub
            .subscribe_public(channel)
            .unwrap_or_else(|| panic!("no channel {channel}"));
        let flusher = tokio::spawn(super::flush_aggregated(app.clone(), 0));
        (app, frames, flusher)
    }

    /// On tokio's paused clock: while orders change the book every 7 ms, the 100 ms depth
    /// channel pushes one frame per window, at least 100 ms apart, whose versions follow on
    /// without a gap and together cover every change.
    #[tokio::test(start_paused = true)]
    async fn one_depth_frame_per_window_with_contiguous_versions() {
        let (app, mut frames, flusher) =
            venue_flushing(&super::channel::aggre_depth("100ms", "HIFIUSDT"));
        let version_before = app.engine().market("HIFIUSDT").map(|m| m.version).ok();
        let started = Instant::now();
        for step in 0..100u32 {
            let price = Decimal::new(9_000 + i64::from(step % 50), 5);
            let order = NewOrder::limit("HIFIUSDT", Side::Buy, price, Decimal::from(20));
            app.execute(|engine, now, out| engine.place(app.market_accounts.0, &order, now, out))
                .unwrap_or_else(|e| panic!("{e}"));
            tokio::time::sleep(Duration::from_millis(7)).await;
        }
        let version_after = app.engine().market("HIFIUSDT").map(|m| m.version).ok();
        tokio::time::sleep(Duration::from_millis(150)).await;
        let mut received: Vec<(Instant, u64, u64)> = Vec::new();
        while let Ok(frame) = frames.try_recv() {
            let push =
                PushDataV3ApiWrapper::decode(frame.as_ref()).unwrap_or_else(|e| panic!("{e}"));
            let Some(Body::PublicAggreDepths(depth)) = push.body else {
                panic!("not a depth push: {push:?}")
            };
            let parse = |v: &str| v.parse::<u64>().unwrap_or_else(|e| panic!("{v}: {e}"));
            received.push((
                Instant::now(),
                parse(&depth.from_version),
                parse(&depth.to_version),
            ));
        }
        flusher.abort();
        let elapsed = started.elapsed();
        // 100 changes over about 700 ms: about 8 windows, far fewer than 100 frames.
        let windows = usize::try_from(elapsed.as_millis() / 100).unwrap_or(usize::MAX) + 1;
        assert!(!received.is_empty());
        assert!(
            received.len() <= windows,
            "{} frames in {elapsed:?}",
            received.len()
        );
        let (first, last) = (received[0], received[received.len() - 1]);
        assert_eq!(Some(first.1), version_before.map(|v| v + 1));
        assert_eq!(Some(last.2), version_after);
        for pair in received.windows(2) {
            assert_eq!(
                pair[1].1,
                pair[0].2 + 1,
                "versions not contiguous: {received:?}"
            );
        }
    }

    /// On the paused clock, flushes are at least one period apart even when the clock jumps
    /// (a fixed-rate timer would fire early after a late tick, or burst to catch up).
    #[tokio::test(start_paused = true)]
    async fn flushes_never_come_closer_than_one_period() {
        let (app, mut frames, flusher) =
            venue_flushing(&super::channel::book_ticker("100ms", "HIFIUSDT"));
        // Records the (paused-clock) instant each frame arrives.
        let collector = tokio::spawn(async move {
            let mut arrivals = Vec::new();
            while frames.recv().await.is_ok() {
                arrivals.push(Instant::now());
            }
            arrivals
        });
        for step in 0..30i64 {
            let price = Decimal::new(9_950 + step, 5);
            let order = NewOrder::limit("HIFIUSDT", Side::Buy, price, Decimal::from(20));
            app.execute(|engine, now, out| engine.place(app.market_accounts.0, &order, now, out))
                .unwrap_or_else(|e| panic!("{e}"));
            if step == 10 {
                // Jump the clock: the flusher's next tick is late.
                tokio::time::advance(Duration::from_millis(350)).await;
            }
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        flusher.abort();
        let _ = flusher.await;
        drop(app);
        let arrivals = collector.await.unwrap_or_else(|e| panic!("{e}"));
        assert!(arrivals.len() >= 3, "{arrivals:?}");
        for pair in arrivals.windows(2) {
            assert!(
                pair[1] - pair[0] >= Duration::from_millis(100),
                "{arrivals:?}"
            );
        }
    }
}
