#![allow(clippy::unwrap_used)]
//! Every endpoint of the protocol notes against the embedded venue (exchange-sim).

use std::sync::Arc;
use std::time::Duration;

use exchange_rest::model::{OrderStatus, OrderType};
use exchange_rest::{
    Credentials, MexcRestClient, MexcRestConfig, NewOrderRequest, OrderRef, RateLimiter, RestError,
    ServerClock, Side, mexc_spot_limits,
};
use exchange_sim::{DEMO_API_KEY, DEMO_API_SECRET, SimConfig, SimVenue};
use lifecycle_core::AsyncResource;
use lifecycle_core::testing::within;
use rust_decimal::Decimal;

struct Setup {
    venue: SimVenue,
    limiter: Arc<RateLimiter>,
    client: MexcRestClient,
}

impl Setup {
    async fn new(credentials: Option<Credentials>) -> Self {
        let venue = SimVenue::start(SimConfig::paused()).await.unwrap();
        let limiter = Arc::new(RateLimiter::new(mexc_spot_limits("rate_limiter.mexc")));
        let mut config = MexcRestConfig::new(venue.rest_url());
        config.credentials = credentials;
        let client = MexcRestClient::new(config, limiter.clone()).unwrap();
        limiter.start().await.unwrap();
        client.start().await.unwrap();
        Self {
            venue,
            limiter,
            client,
        }
    }

    async fn demo() -> Self {
        Self::new(Some(Credentials::new(DEMO_API_KEY, DEMO_API_SECRET))).await
    }

    async fn stop(self) {
        assert!(
            self.client
                .stop_within(Duration::from_secs(2))
                .await
                .is_clean()
        );
        assert!(
            self.limiter
                .stop_within(Duration::from_secs(1))
                .await
                .is_clean()
        );
        self.venue.stop_within(Duration::from_secs(2)).await;
    }
}

fn price(text: &str) -> Decimal {
    text.parse().unwrap()
}

#[tokio::test]
async fn public_market_data() {
    within(Duration::from_secs(10), async {
        let s = Setup::new(None).await;
        let c = &s.client;
        c.ping().await.unwrap();
        let server = c.server_time().await.unwrap();
        assert!((server - ServerClock::new().local_ms()).abs() < 5_000);

        let all = c.exchange_info(&[]).await.unwrap();
        assert!(
            all.symbols
                .iter()
                .any(|m| m.symbol == "HIFIUSDT" && m.is_trading())
        );
        let one = c.exchange_info(&["HIFIUSDT"]).await.unwrap();
        assert_eq!(one.symbols.len(), 1);
        assert_eq!(one.symbols[0].base_size_precision, Some(price("0.01")));
        let two = c.exchange_info(&["HIFIUSDT", "BTCUSDT"]).await.unwrap();
        assert_eq!(two.symbols.len(), 2);
        assert!(matches!(
            c.exchange_info(&["NOPEUSDT"]).await,
            Err(RestError::Rejected(e)) if e.code == 10007
        ));

        let book = c.depth("HIFIUSDT", Some(5)).await.unwrap();
        assert!(book.bids.len() <= 5 && book.asks.len() <= 5);
        assert!(
            !book.bids.is_empty() && !book.asks.is_empty(),
            "the venue quotes at start"
        );
        assert!(book.bids[0].price < book.asks[0].price);
        let sim_book = s.venue.depth("HIFIUSDT", 5).unwrap();
        assert_eq!(
            book.last_update_id,
            i64::try_from(sim_book.version).unwrap()
        );

        let ticker = c.book_ticker("HIFIUSDT").await.unwrap();
        assert_eq!(ticker.bid_price, Some(book.bids[0].price));
        assert_eq!(ticker.ask_price, Some(book.asks[0].price));
        let tickers = c.book_tickers().await.unwrap();
        assert_eq!(tickers.len(), 2);

        assert!(c.contract_details().await.unwrap().is_empty());
        // Signed endpoints need credentials; nothing is sent.
        let sent = c.stats().sent;
        assert_eq!(
            c.account().await.unwrap_err(),
            RestError::MissingCredentials
        );
        assert_eq!(c.stats().sent, sent);
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn order_lifecycle_through_every_order_endpoint() {
    within(Duration::from_secs(10), async {
        let s = Setup::demo().await;
        let c = &s.client;
        assert!(c.server_clock().is_synced(), "start syncs the venue clock");

        let bid = NewOrderRequest::limit_maker("HIFIUSDT", Side::Buy, price("0.05"), price("40"))
            .client_order_id("test-b-1");
        c.test_order(&bid).await.unwrap();
        assert!(
            s.venue.open_orders(DEMO_API_KEY).unwrap().is_empty(),
            "test order places nothing"
        );

        let ack = c.place_order(&bid).await.unwrap();
        assert_eq!(ack.symbol, "HIFIUSDT");
        assert!(!ack.order_id.is_empty());
        let by_id = c
            .query_order("HIFIUSDT", OrderRef::OrderId(ack.order_id.clone()))
            .await
            .unwrap();
        assert_eq!(by_id.status, OrderStatus::New);
        assert_eq!(by_id.order_type, OrderType::LimitMaker);
        assert_eq!(by_id.price, Some(price("0.05")));
        let by_client = c
            .query_order("HIFIUSDT", OrderRef::ClientOrderId("test-b-1".into()))
            .await
            .unwrap();
        assert_eq!(by_client.order_id, ack.order_id);

        let open = c.open_orders("HIFIUSDT").await.unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].client_order_id.as_deref(), Some("test-b-1"));
        let account = c.account().await.unwrap();
        let usdt = account.balance("USDT").unwrap();
        assert_eq!(usdt.locked, price("2"));

        let cancelled = c
            .cancel_order("HIFIUSDT", OrderRef::ClientOrderId("test-b-1".into()))
            .await
            .unwrap();
        assert_eq!(cancelled.status, OrderStatus::Canceled);
        assert!(matches!(
            c.cancel_order("HIFIUSDT", OrderRef::OrderId(ack.order_id.clone()))
                .await,
            Err(RestError::UnknownOrder(_))
        ));

        for i in 0..2 {
            let order =
                NewOrderRequest::limit_maker("HIFIUSDT", Side::Sell, price("0.5"), price("10"))
                    .client_order_id(format!("test-s-{i}"));
            c.place_order(&order).await.unwrap();
        }
        let all_cancelled = c.cancel_all_orders(&["HIFIUSDT"]).await.unwrap();
        assert_eq!(all_cancelled.len(), 2);
        assert!(s.venue.open_orders(DEMO_API_KEY).unwrap().is_empty());
        let history = c.all_orders("HIFIUSDT", Some(10)).await.unwrap();
        assert_eq!(history.len(), 3);
        assert!(history.iter().all(|o| o.status == OrderStatus::Canceled));
        assert!(matches!(
            c.cancel_all_orders(&[]).await,
            Err(RestError::InvalidRequest(_))
        ));
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn venue_refusals_are_typed() {
    within(Duration::from_secs(10), async {
        let s = Setup::demo().await;
        let c = &s.client;
        let too_big = NewOrderRequest::limit("HIFIUSDT", Side::Buy, price("0.09"), price("10000000"));
        assert!(matches!(c.place_order(&too_big).await, Err(RestError::InsufficientFunds(e)) if e.code == 10101));
        let tiny = NewOrderRequest::limit("HIFIUSDT", Side::Buy, price("0.09"), price("1"));
        assert!(matches!(c.place_order(&tiny).await, Err(RestError::InvalidOrder(e)) if e.code == 30002));
        let bad_symbol = NewOrderRequest::limit("NOPEUSDT", Side::Buy, price("0.09"), price("100"));
        assert!(matches!(c.place_order(&bad_symbol).await, Err(RestError::InvalidOrder(_))));
        assert!(matches!(
            c.query_order("HIFIUSDT", OrderRef::OrderId("nope".into())).await,
            Err(RestError::UnknownOrder(e)) if e.code == -2013
        ));
        assert!(s.venue.open_orders(DEMO_API_KEY).unwrap().is_empty());

        // A clock 100 s behind the venue: refused for its timestamp, and the background task
        // resyncs at once (polled, bounded by the test's timeout).
        c.server_clock().record_sample(0, 0, -100_000);
        assert!(matches!(c.account().await, Err(RestError::Timestamp(e)) if e.code == 700003));
        while c.server_clock().offset_ms().abs() > 5_000 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        c.account().await.unwrap();
        // An explicit sync works too.
        assert!(c.sync_clock().await.unwrap().abs() < 5_000);
        s.stop().await;

        // A wrong secret: the signature is refused.
        let wrong = Setup::new(Some(Credentials::new(DEMO_API_KEY, "00000000000000000000000000000000"))).await;
        assert!(matches!(wrong.client.account().await, Err(RestError::Authentication(_))));
        wrong.stop().await;
    })
    .await;
}

#[tokio::test]
async fn listen_keys_and_coin_config() {
    within(Duration::from_secs(10), async {
        let s = Setup::demo().await;
        let c = &s.client;
        let key = c.create_listen_key().await.unwrap();
        assert!(!key.is_empty());
        assert!(c.listen_keys().await.unwrap().contains(&key));
        c.keep_alive_listen_key(&key).await.unwrap();
        c.close_listen_key(&key).await.unwrap();
        assert!(!c.listen_keys().await.unwrap().contains(&key));
        // MEXC answers {"code":"730708","msg":"listen key information error"} (the code a string).
        assert!(matches!(
            c.keep_alive_listen_key(&key).await,
            Err(RestError::ListenKeyInvalid(e)) if e.code == 730708
        ));
        assert!(c.coin_config().await.unwrap().is_empty());
        s.stop().await;
    })
    .await;
}
