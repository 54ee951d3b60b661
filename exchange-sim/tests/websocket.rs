//! The websocket: control frames, limits, timeouts, and every public and private channel.
// Test futures hold whole websocket streams; their size is no hot-path concern here.
#![allow(clippy::unwrap_used, clippy::large_futures)]

mod common;

use std::time::Duration;

use common::*;
use exchange_sim::{AccountConfig, DEMO_API_KEY, NewOrder, Side};
use futures::{SinkExt, StreamExt};
use mexc_proto::push_data_v3_api_wrapper::Body;
use rust_decimal::Decimal;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

const DEPTH: &str = "spot@public.aggre.depth.v3.api.pb@100ms@HIFIUSDT";
const TICKER: &str = "spot@public.aggre.bookTicker.v3.api.pb@100ms@HIFIUSDT";
const DEALS: &str = "spot@public.aggre.deals.v3.api.pb@10ms@HIFIUSDT";
const LIMIT5: &str = "spot@public.limit.depth.v3.api.pb@HIFIUSDT@5";

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

#[tokio::test]
async fn control_frames_and_acks() {
    bounded(async {
        let sim = start_with_market_paused().await;
        let mut ws = connect(&sim.ws_url()).await;
        send_json(&mut ws, json!({"method": "PING"})).await;
        assert_eq!(
            next_text(&mut ws).await,
            json!({"id": 0, "code": 0, "msg": "PONG"})
        );
        send_json(&mut ws, json!({"method": "ping"})).await;
        assert_eq!(
            next_text(&mut ws).await,
            json!({"id": 0, "code": 0, "msg": "PONG"})
        );
        assert_eq!(
            subscribe(&mut ws, &[DEPTH]).await,
            json!({"id": 0, "code": 0, "msg": DEPTH})
        );
        let two = subscribe(&mut ws, &[TICKER, DEALS]).await;
        assert_eq!(two["msg"], format!("{TICKER},{DEALS}"));
        for refused in [
            "spot@public.deals.v3.api@HIFIUSDT",
            "spot@public.aggre.depth.v3.api.pb@100ms@NOPEUSDT",
            "spot@private.orders.v3.api.pb",
        ] {
            let ack = subscribe(&mut ws, &[refused]).await;
            let msg = ack["msg"].as_str().unwrap();
            assert!(msg.contains("Blocked!") && msg.contains(refused), "{msg}");
        }
        send_json(
            &mut ws,
            json!({"method": "UNSUBSCRIPTION", "params": [DEPTH]}),
        )
        .await;
        assert_eq!(
            next_text(&mut ws).await,
            json!({"id": 0, "code": 0, "msg": DEPTH})
        );
        ws.send(Message::text("{not json")).await.unwrap();
        assert_eq!(next_text(&mut ws).await["code"], 0);
        // Protocol-level ping.
        ws.send(Message::Ping(b"hello".to_vec().into()))
            .await
            .unwrap();
        loop {
            match ws.next().await.unwrap().unwrap() {
                Message::Pong(payload) => {
                    assert_eq!(payload.as_ref(), b"hello");
                    break;
                }
                Message::Close(frame) => panic!("closed: {frame:?}"),
                _ => {}
            }
        }
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn flooding_clients_are_disconnected() {
    bounded(async {
        let sim = start_with(|c| c.ws.max_inbound_per_second = 5).await;
        let mut ws = connect(&sim.ws_url()).await;
        for _ in 0..5 {
            send_json(&mut ws, json!({"method": "PING"})).await;
            assert_eq!(next_text(&mut ws).await["msg"], "PONG");
        }
        send_json(&mut ws, json!({"method": "PING"})).await;
        let code = loop {
            match ws.next().await {
                Some(Ok(Message::Close(frame))) => break frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => {}
                other => panic!("no close frame: {other:?}"),
            }
        };
        assert_eq!(code, Some(1008));
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn subscription_limit() {
    bounded(async {
        let sim = start_with(|c| c.ws.max_subscriptions = 2).await;
        let mut ws = connect(&sim.ws_url()).await;
        subscribe(&mut ws, &[DEPTH, TICKER]).await;
        let ack = subscribe(&mut ws, &[DEALS]).await;
        assert!(
            ack["msg"]
                .as_str()
                .unwrap()
                .starts_with("Not Subscribed successfully!"),
            "{ack}"
        );
        // Re-subscribing an existing channel is fine.
        assert_eq!(subscribe(&mut ws, &[DEPTH]).await["msg"], DEPTH);
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn timeouts_disconnect() {
    bounded(async {
        let sim = start_with(|c| {
            c.ws.no_subscription_timeout = Duration::from_millis(200);
            c.ws.idle_timeout = Duration::from_millis(800);
        })
        .await;
        // Without a subscription.
        let mut quiet = connect(&sim.ws_url()).await;
        let started = tokio::time::Instant::now();
        assert_eq!(close_code(&mut quiet).await, Some(1000));
        assert!(started.elapsed() >= Duration::from_millis(150));
        // Subscribed but silent: the idle timer.
        let mut idle = connect(&sim.ws_url()).await;
        subscribe(&mut idle, &[DEPTH]).await;
        assert_eq!(close_code(&mut idle).await, Some(1000));
        // Pinging keeps a connection alive past the idle time.
        let mut alive = connect(&sim.ws_url()).await;
        subscribe(&mut alive, &[DEPTH]).await;
        for _ in 0..12 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            send_json(&mut alive, json!({"method": "PING"})).await;
            assert_eq!(next_text(&mut alive).await["msg"], "PONG");
        }
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn public_channels_follow_the_book() {
    bounded(async {
        let sim = start_with(|c| c.market.levels = 0).await;
        let client = Client::demo(&sim);
        let mut ws = connect(&sim.ws_url()).await;
        subscribe(&mut ws, &[DEPTH, TICKER, DEALS, LIMIT5]).await;
        let (_, rest) = client.get("/api/v3/depth?symbol=HIFIUSDT").await;
        let last_update_id = rest["lastUpdateId"].as_u64().unwrap();

        sim.place_order(
            DEMO_API_KEY,
            &NewOrder::limit("HIFIUSDT", Side::Sell, d("0.1"), d("100")),
        )
        .unwrap();
        client.limit("HIFIUSDT", "BUY", "0.099", "50").await;
        sim.place_order(
            DEMO_API_KEY,
            &NewOrder::market("HIFIUSDT", Side::Buy, d("30")),
        )
        .unwrap();

        // Three operations: the aggregated channels may carry them in one window or several,
        // ending on the final state.
        let final_version = sim.depth("HIFIUSDT", 1).unwrap().version;
        let reached = |push: &mexc_proto::PushDataV3ApiWrapper| match &push.body {
            Some(Body::PublicAggreDepths(d)) => {
                d.to_version.parse::<u64>().unwrap() == final_version
            }
            Some(Body::PublicAggreBookTicker(t)) => {
                t.version.parse::<u64>().unwrap() == final_version
            }
            Some(Body::PublicLimitDepths(l)) => l.version.parse::<u64>().unwrap() == final_version,
            _ => false,
        };
        let pushes = collect_pushes(&mut ws, |p| {
            on_channel(p, DEPTH).any(reached)
                && on_channel(p, DEALS).count() >= 1
                && on_channel(p, TICKER).any(reached)
                && on_channel(p, LIMIT5).any(reached)
        })
        .await;
        let mut expected_from = last_update_id + 1;
        let mut book: std::collections::BTreeMap<(bool, String), String> = Default::default();
        for push in on_channel(&pushes, DEPTH) {
            assert_eq!(push.symbol.as_deref(), Some("HIFIUSDT"));
            assert!(push.send_time.is_some());
            let Some(Body::PublicAggreDepths(diff)) = push.body.clone() else {
                panic!("{push:?}")
            };
            assert_eq!(diff.from_version.parse::<u64>().unwrap(), expected_from);
            expected_from = diff.to_version.parse::<u64>().unwrap() + 1;
            for (is_bid, levels) in [(true, &diff.bids), (false, &diff.asks)] {
                for level in levels {
                    book.insert((is_bid, level.price.clone()), level.quantity.clone());
                }
            }
        }
        assert_eq!(expected_from - 1, final_version);
        assert_eq!(
            book.get(&(false, "0.1".into())).map(String::as_str),
            Some("70")
        );
        assert_eq!(
            book.get(&(true, "0.099".into())).map(String::as_str),
            Some("50")
        );
        let (_, rest) = client.get("/api/v3/depth?symbol=HIFIUSDT").await;
        assert_eq!(rest["lastUpdateId"].as_u64().unwrap(), expected_from - 1);

        let Some(Body::PublicAggreBookTicker(t)) =
            on_channel(&pushes, TICKER).last().unwrap().body.clone()
        else {
            panic!()
        };
        assert_eq!(
            (
                t.bid_price.as_str(),
                t.bid_quantity.as_str(),
                t.ask_price.as_str(),
                t.ask_quantity.as_str()
            ),
            ("0.099", "50", "0.1", "70")
        );
        assert_eq!(t.version.parse::<u64>().unwrap(), expected_from - 1);

        let Some(Body::PublicAggreDeals(deals)) =
            on_channel(&pushes, DEALS).next().unwrap().body.clone()
        else {
            panic!()
        };
        assert_eq!(deals.deals.len(), 1);
        assert_eq!(
            (
                deals.deals[0].price.as_str(),
                deals.deals[0].quantity.as_str()
            ),
            ("0.1", "30")
        );
        assert_eq!(deals.deals[0].trade_type, 1);

        let Some(Body::PublicLimitDepths(s)) =
            on_channel(&pushes, LIMIT5).last().unwrap().body.clone()
        else {
            panic!()
        };
        assert_eq!(
            (s.asks[0].price.as_str(), s.asks[0].quantity.as_str()),
            ("0.1", "70")
        );
        assert_eq!(s.bids[0].price, "0.099");
        assert_eq!(s.version.parse::<u64>().unwrap(), expected_from - 1);
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn private_channels_for_the_listen_key_account() {
    bounded(async {
        let sim = start_with(|c| {
            c.market.levels = 0;
            c.accounts.push(
                AccountConfig::new("mx0OTHER", "0123456789abcdef0123456789abcdef")
                    .with_balances([("HIFI", 1000.into())]),
            );
        })
        .await;
        let demo = Client::demo(&sim);
        let other = Client::new(&sim, "mx0OTHER", "0123456789abcdef0123456789abcdef");
        let key = demo.listen_key().await;
        let mut ws = connect(&format!("{}?listenKey={key}", sim.ws_url())).await;
        let channels = [
            "spot@private.orders.v3.api.pb",
            "spot@private.deals.v3.api.pb",
            "spot@private.account.v3.api.pb",
        ];
        assert_eq!(
            subscribe(&mut ws, &channels).await["msg"],
            channels.join(",")
        );
        // The other account's resting order produces nothing on our connection.
        other.limit("HIFIUSDT", "SELL", "0.1", "100").await;
        let (_, placed) = demo
            .new_order(
                "symbol=HIFIUSDT&side=BUY&type=LIMIT&price=0.1&quantity=21&newClientOrderId=mm-b-1",
            )
            .await;
        let id = placed["orderId"].as_str().unwrap();

        let pushes = collect_pushes(&mut ws, |p| {
            on_channel(p, channels[0]).count() >= 2
                && on_channel(p, channels[1]).count() >= 1
                && on_channel(p, channels[2]).count() >= 3
        })
        .await;
        let mut orders = on_channel(&pushes, channels[0]);
        let push = orders.next().unwrap();
        assert_eq!(push.symbol.as_deref(), Some("HIFIUSDT"));
        let Some(Body::PrivateOrders(new)) = push.body.clone() else {
            panic!()
        };
        assert_eq!(
            (new.id.as_str(), new.client_id.as_str(), new.status),
            (id, "mm-b-1", 1)
        );
        assert_eq!(
            (
                new.price.as_str(),
                new.quantity.as_str(),
                new.amount.as_str()
            ),
            ("0.1", "21", "2.1")
        );
        assert_eq!((new.order_type, new.trade_type), (1, 1));
        let Some(Body::PrivateOrders(filled)) = orders.next().unwrap().body.clone() else {
            panic!()
        };
        assert_eq!(
            (filled.status, filled.cumulative_quantity.as_str()),
            (2, "21")
        );
        assert_eq!(filled.last_deal_quantity.as_deref(), Some("21"));

        let Some(Body::PrivateDeals(deal)) = on_channel(&pushes, channels[1])
            .next()
            .unwrap()
            .body
            .clone()
        else {
            panic!()
        };
        assert_eq!(
            (
                deal.price.as_str(),
                deal.quantity.as_str(),
                deal.amount.as_str()
            ),
            ("0.1", "21", "2.1")
        );
        assert_eq!(
            (
                deal.order_id.as_str(),
                deal.client_order_id.as_str(),
                deal.trade_type,
                deal.is_maker
            ),
            (id, "mm-b-1", 1, false)
        );
        assert_eq!(
            (deal.fee_amount.as_str(), deal.fee_currency.as_str()),
            ("0.0105", "HIFI")
        );

        let Some(Body::PrivateAccount(lock)) = on_channel(&pushes, channels[2])
            .next()
            .unwrap()
            .body
            .clone()
        else {
            panic!()
        };
        assert_eq!(
            (lock.vcoin_name.as_str(), lock.r#type.as_str()),
            ("USDT", "ENTRUST_PLACE")
        );
        assert_eq!(
            (
                lock.balance_amount_change.as_str(),
                lock.frozen_amount_change.as_str()
            ),
            ("-2.1", "2.1")
        );
        assert_eq!(
            (lock.balance_amount.as_str(), lock.frozen_amount.as_str()),
            ("99997.9", "2.1")
        );
        // Nothing about the other account's order reached this connection.
        assert!(
            pushes
                .iter()
                .all(|p| !matches!(&p.body, Some(Body::PrivateOrders(o)) if o.id != id))
        );
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn invalid_listen_key_is_refused() {
    bounded(async {
        let sim = start_with_market_paused().await;
        let result =
            tokio_tungstenite::connect_async(format!("{}?listenKey=nope", sim.ws_url())).await;
        assert!(result.is_err());
        sim.shutdown().await;
    })
    .await;
}
