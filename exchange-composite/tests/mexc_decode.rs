//! Push-frame decoding: the protocol file's vectors, and bad frames.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use exchange_composite::mexc::{MexcPushDecoder, decode_push};
use exchange_composite::{
    DecodeError, FrameCounts, FrameDecoder, OrderStatus, OrderType, PushBuffers, Side, VenueEvent,
};
use exchange_composite::{DepthDiff, PriceLevel};
use mexc_proto::prost::Message;
use mexc_proto::push_data_v3_api_wrapper::Body;
use mexc_proto::{
    PublicAggreDealsV3Api, PublicAggreDealsV3ApiItem, PublicAggreDepthV3ApiItem,
    PublicAggreDepthsV3Api, PushDataV3ApiWrapper,
};
use proptest::prelude::*;

const BOOK_TICKER: &str = "0a3573706f74407075626c69632e61676772652e626f6f6b5469636b65722e76332e6170692e7062403130306d734048494649555344541a0848494649555344543091b0e7d1c432da131c0a07302e303939393012033530301a07302e31303031302203343030";
const PRIVATE_ORDER: &str = "0a1d73706f7440707269766174652e6f72646572732e76332e6170692e70621a08484946495553445430a98095d4c43282134a0a064330325f5f3112066d6d2d622d311a05302e303939220432312e322a06322e30393838320130380140015206322e303938385a0432312e326a013072013078018001938095d4c432";

#[test]
fn the_book_ticker_vector_decodes_to_exact_decimals() {
    let mut buffers = PushBuffers::default();
    let VenueEvent::BookTicker {
        symbol_code,
        ticker,
    } = decode_push(&hex::decode(BOOK_TICKER).unwrap(), &mut buffers).unwrap()
    else {
        panic!("not a book ticker")
    };
    assert_eq!(symbol_code, "HIFIUSDT");
    assert_eq!(ticker.bid_price.to_string(), "0.09990");
    assert_eq!(ticker.bid_quantity.to_string(), "500");
    assert_eq!(ticker.ask_price.to_string(), "0.10010");
    assert_eq!(ticker.ask_quantity.to_string(), "400");
    assert_eq!(ticker.time_ms, 1_736_412_092_433);
    assert!(ticker.is_sane());
    assert_eq!(ticker.mid().unwrap().to_string(), "0.10000");
}

#[test]
fn the_private_order_vector_decodes() {
    let mut buffers = PushBuffers::default();
    let VenueEvent::Order(order) =
        decode_push(&hex::decode(PRIVATE_ORDER).unwrap(), &mut buffers).unwrap()
    else {
        panic!("not an order update")
    };
    assert_eq!(order.symbol_code, "HIFIUSDT");
    assert_eq!(order.order_id, "C02__1");
    assert_eq!(order.client_order_id.as_ref().unwrap().as_str(), "mm-b-1");
    assert_eq!(order.price.to_string(), "0.099");
    assert_eq!(order.quantity.to_string(), "21.2");
    assert_eq!(order.filled_quantity.to_string(), "0");
    assert_eq!(order.side, Side::Buy);
    assert_eq!(order.order_type, OrderType::Limit);
    assert_eq!(order.status, OrderStatus::New);
    assert_eq!(order.time_ms, 1_736_417_034_281);
}

#[test]
fn bad_frames_are_typed_errors_and_counted() {
    let mut buffers = PushBuffers::default();
    assert!(matches!(
        decode_push(b"\xff\xff\xff", &mut buffers),
        Err(DecodeError::Malformed(_))
    ));
    // A valid envelope with no body.
    let empty = mexc_proto::PushDataV3ApiWrapper {
        channel: "spot@x".into(),
        ..Default::default()
    }
    .encode_to_vec();
    assert!(matches!(
        decode_push(&empty, &mut buffers),
        Err(DecodeError::Unsupported { .. })
    ));
    // A book ticker whose price is not a number.
    let mut frame =
        mexc_proto::PushDataV3ApiWrapper::decode(hex::decode(BOOK_TICKER).unwrap().as_slice())
            .unwrap();
    if let Some(mexc_proto::push_data_v3_api_wrapper::Body::PublicAggreBookTicker(t)) =
        frame.body.as_mut()
    {
        t.bid_price = "abc".into();
    }
    let error = decode_push(&frame.encode_to_vec(), &mut buffers).unwrap_err();
    assert_eq!(
        error,
        DecodeError::BadDecimal {
            field: "bidPrice",
            value: "abc".into()
        }
    );

    let counts = FrameCounts::default();
    let mut decoder = FrameDecoder::new(Box::new(MexcPushDecoder), counts.clone());
    assert!(decoder.decode(&hex::decode(BOOK_TICKER).unwrap()).is_some());
    assert!(decoder.decode(b"garbage").is_none());
    assert!(decoder.decode(&empty).is_none());
    assert_eq!((counts.decoded(), counts.failed()), (1, 2));
}

fn push(symbol: &str, body: Body) -> Vec<u8> {
    PushDataV3ApiWrapper {
        channel: "spot@public.aggre.v3.api.pb@100ms".into(),
        symbol: Some(symbol.into()),
        send_time: Some(1_736_412_092_433),
        body: Some(body),
        ..Default::default()
    }
    .encode_to_vec()
}

/// A depth push of `symbol`, version `version`, with `(price, quantity)` levels.
fn depth(symbol: &str, version: u64, bids: &[(&str, &str)], asks: &[(&str, &str)]) -> Vec<u8> {
    let levels = |side: &[(&str, &str)]| {
        side.iter()
            .map(|(price, quantity)| PublicAggreDepthV3ApiItem {
                price: (*price).into(),
                quantity: (*quantity).into(),
            })
            .collect()
    };
    push(
        symbol,
        Body::PublicAggreDepths(PublicAggreDepthsV3Api {
            asks: levels(asks),
            bids: levels(bids),
            event_type: "spot@public.aggre.depth.v3.api.pb@100ms".into(),
            from_version: version.to_string(),
            to_version: version.to_string(),
            last_order_create_time: 0,
        }),
    )
}

/// A deals push of `symbol` with trades at `prices` (buyer takers, time = index).
fn deals(symbol: &str, prices: &[&str]) -> Vec<u8> {
    push(
        symbol,
        Body::PublicAggreDeals(PublicAggreDealsV3Api {
            deals: prices
                .iter()
                .zip(0..)
                .map(|(price, time)| PublicAggreDealsV3ApiItem {
                    price: (*price).into(),
                    quantity: "2".into(),
                    trade_type: 1,
                    time,
                    trade_id: String::new(),
                })
                .collect(),
            event_type: "spot@public.aggre.deals.v3.api.pb@100ms".into(),
        }),
    )
}

fn levels(side: &[(&str, &str)]) -> Vec<PriceLevel> {
    side.iter()
        .map(|(price, quantity)| PriceLevel {
            price: price.parse().unwrap(),
            quantity: quantity.parse().unwrap(),
        })
        .collect()
}

/// The pointer and capacity of a depth diff's two vectors, and the diff.
fn decoded_depth(frame: &[u8], buffers: &mut PushBuffers) -> ((usize, usize), DepthDiff) {
    let VenueEvent::DepthDiff { symbol_code, diff } = decode_push(frame, buffers).unwrap() else {
        panic!("not a depth diff")
    };
    assert_eq!(symbol_code, "HIFIUSDT");
    (
        (diff.bids.as_ptr() as usize, diff.asks.as_ptr() as usize),
        diff.clone(),
    )
}

/// Market data decodes into the caller's buffers: a second push of a kind reuses the first's
/// vectors (same allocation), whatever came in between, and holds exactly its own content;
/// a frame that fails leaves the buffers empty, with their allocations kept.
#[test]
fn decoding_twice_into_the_same_buffers_reuses_them() {
    let mut buffers = PushBuffers::default();
    let five = [
        ("0.0999", "1"),
        ("0.0998", "2"),
        ("0.0997", "3"),
        ("0.0996", "4"),
        ("0.0995", "5"),
    ];
    let (vectors, first) = decoded_depth(&depth("HIFIUSDT", 7, &five, &five), &mut buffers);
    assert_eq!(
        (first.from_version, first.bids, first.asks.len()),
        (7, levels(&five), 5)
    );

    // Trades and a ticker in between: their own buffers, the depth vectors stay.
    let VenueEvent::Trades { trades, .. } =
        decode_push(&deals("HIFIUSDT", &["0.1", "0.2", "0.3"]), &mut buffers).unwrap()
    else {
        panic!("not trades")
    };
    let trades_at = trades.as_ptr() as usize;
    assert_eq!(trades.len(), 3);
    let ticker = hex::decode(BOOK_TICKER).unwrap();
    assert!(matches!(
        decode_push(&ticker, &mut buffers),
        Ok(VenueEvent::BookTicker {
            symbol_code: "HIFIUSDT",
            ..
        })
    ));

    let bids = [("0.0994", "9")];
    let asks = [("0.1001", "8"), ("0.1002", "0")];
    let (again, second) = decoded_depth(&depth("HIFIUSDT", 8, &bids, &asks), &mut buffers);
    assert_eq!(again, vectors, "the depth vectors were reused");
    assert_eq!(
        second,
        DepthDiff {
            from_version: 8,
            to_version: 8,
            bids: levels(&bids),
            asks: levels(&asks),
        }
    );
    let VenueEvent::Trades { trades, .. } =
        decode_push(&deals("HIFIUSDT", &["0.4"]), &mut buffers).unwrap()
    else {
        panic!("not trades")
    };
    assert_eq!(
        trades.as_ptr() as usize,
        trades_at,
        "the trades vector was reused"
    );
    assert_eq!(trades.len(), 1);
    assert_eq!(trades[0].price.to_string(), "0.4");
    assert_eq!((trades[0].taker_side, trades[0].time_ms), (Side::Buy, 0));

    // A level that is not a number, after good ones: a typed error, and nothing left.
    let bad = [("0.0999", "1"), ("abc", "2")];
    assert_eq!(
        decode_push(&depth("HIFIUSDT", 9, &five, &bad), &mut buffers).unwrap_err(),
        DecodeError::BadDecimal {
            field: "price",
            value: "abc".into()
        }
    );
    assert!(buffers.is_empty());
    // So does a frame that is no push at all.
    decode_push(&deals("HIFIUSDT", &["0.5"]), &mut buffers).unwrap();
    assert!(decode_push(b"garbage", &mut buffers).is_err());
    assert!(buffers.is_empty());
    let (after, third) = decoded_depth(&depth("HIFIUSDT", 9, &five, &bids), &mut buffers);
    assert_eq!(after, vectors, "an error keeps the vectors' allocations");
    assert_eq!((third.bids, third.asks), (levels(&five), levels(&bids)));
}

fn ticker_with(bid: &str, ask: &str) -> Vec<u8> {
    let mut frame =
        mexc_proto::PushDataV3ApiWrapper::decode(hex::decode(BOOK_TICKER).unwrap().as_slice())
            .unwrap();
    if let Some(mexc_proto::push_data_v3_api_wrapper::Body::PublicAggreBookTicker(t)) =
        frame.body.as_mut()
    {
        t.bid_price = bid.into();
        t.ask_price = ask.into();
    }
    frame.encode_to_vec()
}

/// A venue quoting bid 7e28 / ask 7.9e28 (each a valid `Decimal`, their sum is not) made the
/// market maker's mid-price addition overflow: such values are refused at the boundary.
#[test]
fn prices_outside_the_venue_range_are_typed_errors() {
    let mut buffers = PushBuffers::default();
    for (bid, ask, field) in [
        (
            "70000000000000000000000000000",
            "79000000000000000000000000000",
            "bidPrice",
        ),
        ("7e28", "7.9e28", "bidPrice"),
        ("0.0999", "1000000000000.01", "askPrice"),
        ("-0.0999", "0.1001", "bidPrice"),
    ] {
        match decode_push(&ticker_with(bid, ask), &mut buffers) {
            Err(DecodeError::OutOfRange {
                field: got,
                problem,
            }) => {
                assert_eq!(got, field, "{bid}/{ask}: {problem}");
            }
            other => panic!("{bid}/{ask}: {other:?}"),
        }
    }
    // The largest accepted price still decodes, and its mid is computed without overflow.
    let VenueEvent::BookTicker { ticker, .. } =
        decode_push(&ticker_with("999999999999", "1000000000000"), &mut buffers).unwrap()
    else {
        panic!("not a book ticker")
    };
    assert_eq!(ticker.mid().unwrap(), "999999999999.5".parse().unwrap());
}

#[test]
fn a_mid_that_does_not_fit_is_none_not_a_panic() {
    let ticker = exchange_composite::BookTicker {
        bid_price: rust_decimal::Decimal::MAX,
        bid_quantity: rust_decimal::Decimal::ONE,
        ask_price: rust_decimal::Decimal::MAX,
        ask_quantity: rust_decimal::Decimal::ONE,
        time_ms: 0,
    };
    assert_eq!(ticker.mid(), None);
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_push(&bytes, &mut PushBuffers::default());
    }

    /// Whatever two prices a venue sends, a decoded ticker's mid is computed without overflow.
    #[test]
    fn any_decoded_ticker_has_a_mid(bid in any::<u128>(), ask in any::<u128>(), scale in 0u32..29) {
        let text = |v: u128| {
            let digits = (v % 100_000_000_000_000_000_000_000_000_000u128).to_string();
            if scale as usize >= digits.len() { digits } else {
                let (int, frac) = digits.split_at(digits.len() - scale as usize);
                format!("{int}.{frac}")
            }
        };
        let mut buffers = PushBuffers::default();
        if let Ok(VenueEvent::BookTicker { ticker, .. }) = decode_push(&ticker_with(&text(bid), &text(ask)), &mut buffers) {
            prop_assert!(ticker.mid().is_some());
        }
    }
}
