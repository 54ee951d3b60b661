//! Push-frame decoding: the protocol file's vectors, and bad frames.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use exchange_composite::mexc::{MexcPushDecoder, decode_push};
use exchange_composite::{
    DecodeError, FrameCounts, FrameDecoder, OrderStatus, OrderType, Side, VenueEvent,
};
use mexc_proto::prost::Message;
use proptest::prelude::*;

const BOOK_TICKER: &str = "0a3573706f74407075626c69632e61676772652e626f6f6b5469636b65722e76332e6170692e7062403130306d734048494649555344541a0848494649555344543091b0e7d1c432da131c0a07302e303939393012033530301a07302e31303031302203343030";
const PRIVATE_ORDER: &str = "0a1d73706f7440707269766174652e6f72646572732e76332e6170692e70621a08484946495553445430a98095d4c43282134a0a064330325f5f3112066d6d2d622d311a05302e303939220432312e322a06322e30393838320130380140015206322e303938385a0432312e326a013072013078018001938095d4c432";

#[test]
fn the_book_ticker_vector_decodes_to_exact_decimals() {
    let VenueEvent::BookTicker {
        symbol_code,
        ticker,
    } = decode_push(&hex::decode(BOOK_TICKER).unwrap()).unwrap()
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
    let VenueEvent::Order(order) = decode_push(&hex::decode(PRIVATE_ORDER).unwrap()).unwrap()
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
    assert!(matches!(
        decode_push(b"\xff\xff\xff"),
        Err(DecodeError::Malformed(_))
    ));
    // A valid envelope with no body.
    let empty = mexc_proto::PushDataV3ApiWrapper {
        channel: "spot@x".into(),
        ..Default::default()
    }
    .encode_to_vec();
    assert!(matches!(
        decode_push(&empty),
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
    let error = decode_push(&frame.encode_to_vec()).unwrap_err();
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
        match decode_push(&ticker_with(bid, ask)) {
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
        decode_push(&ticker_with("999999999999", "1000000000000")).unwrap()
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
        let _ = decode_push(&bytes);
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
        if let Ok(VenueEvent::BookTicker { ticker, .. }) = decode_push(&ticker_with(&text(bid), &text(ask))) {
            prop_assert!(ticker.mid().is_some());
        }
    }
}
