//! Decode the hex vectors of the protocol file and round-trip every body.
#![allow(clippy::unwrap_used)]

use mexc_proto::push_data_v3_api_wrapper::Body;
use mexc_proto::*;
use prost::Message;

const BOOK_TICKER_HEX: &str = "0a3573706f74407075626c69632e61676772652e626f6f6b5469636b65722e76332e6170692e7062403130306d734048494649555344541a0848494649555344543091b0e7d1c432da131c0a07302e303939393012033530301a07302e31303031302203343030";
const PRIVATE_ORDER_HEX: &str = "0a1d73706f7440707269766174652e6f72646572732e76332e6170692e70621a08484946495553445430a98095d4c43282134a0a064330325f5f3112066d6d2d622d311a05302e303939220432312e322a06322e30393838320130380140015206322e303938385a0432312e326a013072013078018001938095d4c432";

#[test]
fn decodes_book_ticker_vector() {
    let bytes = hex::decode(BOOK_TICKER_HEX).unwrap();
    let frame = PushDataV3ApiWrapper::decode(bytes.as_slice()).unwrap();
    assert_eq!(
        frame.channel,
        "spot@public.aggre.bookTicker.v3.api.pb@100ms@HIFIUSDT"
    );
    assert_eq!(frame.symbol.as_deref(), Some("HIFIUSDT"));
    assert_eq!(frame.symbol_id, None);
    assert_eq!(frame.create_time, None);
    assert_eq!(frame.send_time, Some(1_736_412_092_433));
    let Some(Body::PublicAggreBookTicker(t)) = frame.body else {
        panic!("wrong body: {:?}", frame.body);
    };
    assert_eq!(t.bid_price, "0.09990");
    assert_eq!(t.bid_quantity, "500");
    assert_eq!(t.ask_price, "0.10010");
    assert_eq!(t.ask_quantity, "400");
    assert_eq!(t.version, "");
    assert_eq!(t.last_order_create_time, 0);
}

#[test]
fn decodes_private_order_vector() {
    let bytes = hex::decode(PRIVATE_ORDER_HEX).unwrap();
    let frame = PushDataV3ApiWrapper::decode(bytes.as_slice()).unwrap();
    assert_eq!(frame.channel, "spot@private.orders.v3.api.pb");
    assert_eq!(frame.symbol.as_deref(), Some("HIFIUSDT"));
    assert_eq!(frame.send_time, Some(1_736_417_034_281));
    let Some(Body::PrivateOrders(o)) = frame.body else {
        panic!("wrong body: {:?}", frame.body);
    };
    let expected = PrivateOrdersV3Api {
        id: "C02__1".into(),
        client_id: "mm-b-1".into(),
        price: "0.099".into(),
        quantity: "21.2".into(),
        amount: "2.0988".into(),
        avg_price: "0".into(),
        order_type: 1,
        trade_type: 1,
        is_maker: false,
        remain_amount: "2.0988".into(),
        remain_quantity: "21.2".into(),
        last_deal_quantity: None,
        cumulative_quantity: "0".into(),
        cumulative_amount: "0".into(),
        status: 1,
        create_time: 1_736_417_034_259,
        market: None,
    };
    assert_eq!(o, expected);
}

#[test]
fn vectors_reencode_to_the_same_bytes() {
    for hex_frame in [BOOK_TICKER_HEX, PRIVATE_ORDER_HEX] {
        let bytes = hex::decode(hex_frame).unwrap();
        let frame = PushDataV3ApiWrapper::decode(bytes.as_slice()).unwrap();
        assert_eq!(frame.encode_to_vec(), bytes);
    }
}

fn round_trip(body: Body) {
    let frame = PushDataV3ApiWrapper {
        channel: "c".into(),
        body: Some(body),
        symbol: Some("BTCUSDT".into()),
        symbol_id: Some("id".into()),
        create_time: Some(1),
        send_time: Some(2),
    };
    let bytes = frame.encode_to_vec();
    assert_eq!(
        PushDataV3ApiWrapper::decode(bytes.as_slice()).unwrap(),
        frame
    );
}

#[test]
fn every_body_round_trips() {
    round_trip(Body::PublicAggreDepths(PublicAggreDepthsV3Api {
        asks: vec![PublicAggreDepthV3ApiItem {
            price: "1.5".into(),
            quantity: "2".into(),
        }],
        bids: vec![PublicAggreDepthV3ApiItem {
            price: "1.4".into(),
            quantity: "0".into(),
        }],
        event_type: "e".into(),
        from_version: "10".into(),
        to_version: "11".into(),
        last_order_create_time: 7,
    }));
    round_trip(Body::PublicLimitDepths(PublicLimitDepthsV3Api {
        asks: vec![PublicLimitDepthV3ApiItem {
            price: "1".into(),
            quantity: "2".into(),
        }],
        bids: vec![],
        event_type: "e".into(),
        version: "3".into(),
        last_order_create_time: 4,
    }));
    round_trip(Body::PublicAggreBookTicker(PublicAggreBookTickerV3Api {
        bid_price: "1".into(),
        bid_quantity: "2".into(),
        ask_price: "3".into(),
        ask_quantity: "4".into(),
        version: "5".into(),
        last_order_create_time: 6,
    }));
    round_trip(Body::PublicAggreDeals(PublicAggreDealsV3Api {
        deals: vec![PublicAggreDealsV3ApiItem {
            price: "1".into(),
            quantity: "2".into(),
            trade_type: 2,
            time: 3,
            trade_id: "t".into(),
        }],
        event_type: "e".into(),
    }));
    round_trip(Body::PrivateOrders(PrivateOrdersV3Api {
        id: "C02__9".into(),
        last_deal_quantity: Some("1".into()),
        market: Some("USDT".into()),
        status: 3,
        ..Default::default()
    }));
    round_trip(Body::PrivateDeals(PrivateDealsV3Api {
        price: "1".into(),
        quantity: "2".into(),
        amount: "2".into(),
        trade_type: 1,
        is_maker: true,
        is_self_trade: true,
        trade_id: "t".into(),
        client_order_id: "c".into(),
        order_id: "o".into(),
        fee_amount: "0.002".into(),
        fee_currency: "BTC".into(),
        time: 5,
    }));
    round_trip(Body::PrivateAccount(PrivateAccountV3Api {
        vcoin_name: "USDT".into(),
        coin_id: "x".into(),
        balance_amount: "10".into(),
        balance_amount_change: "-1".into(),
        frozen_amount: "1".into(),
        frozen_amount_change: "1".into(),
        r#type: "ENTRUST".into(),
        time: 9,
    }));
    round_trip(Body::PublicDeals(PublicDealsV3Api {
        deals: vec![PublicDealsV3ApiItem {
            price: "1".into(),
            quantity: "2".into(),
            trade_type: 1,
            time: 3,
        }],
        event_type: "e".into(),
    }));
    round_trip(Body::PublicIncreaseDepths(PublicIncreaseDepthsV3Api {
        asks: vec![PublicIncreaseDepthV3ApiItem {
            price: "1".into(),
            quantity: "2".into(),
        }],
        bids: vec![],
        event_type: "e".into(),
        version: "1".into(),
    }));
    round_trip(Body::PublicBookTicker(PublicBookTickerV3Api {
        bid_price: "1".into(),
        bid_quantity: "2".into(),
        ask_price: "3".into(),
        ask_quantity: "4".into(),
    }));
}

#[test]
fn unknown_body_fields_decode_without_error() {
    // A frame with body 308 (kline, not modelled): field 308, wire type 2, empty message,
    // followed by the symbol field.
    let mut bytes = PushDataV3ApiWrapper {
        channel: "spot@public.kline.v3.api.pb@BTCUSDT@Min1".into(),
        ..Default::default()
    }
    .encode_to_vec();
    // tag = (308 << 3) | 2 = 2466 = varint a2 13; length 2; inner field 1 varint 5.
    bytes.extend_from_slice(&[0xa2, 0x13, 0x02, 0x08, 0x05]);
    bytes.extend_from_slice(&[0x1a, 0x07]);
    bytes.extend_from_slice(b"BTCUSDT");
    let frame = PushDataV3ApiWrapper::decode(bytes.as_slice()).unwrap();
    assert_eq!(frame.body, None);
    assert_eq!(frame.symbol.as_deref(), Some("BTCUSDT"));
}
