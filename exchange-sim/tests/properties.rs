//! Property tests of the matching engine: balances are conserved across any sequence of
//! orders, cancels and fills (free + locked + fees collected per asset is constant), every
//! internal invariant holds after each step, and the book is never crossed.
#![allow(clippy::unwrap_used)]

use exchange_sim::AccountId;
use exchange_sim::SymbolConfig;
use exchange_sim::matching::{Engine, EngineLimits, NewOrder, OrderRef, OrderType, Side};
use proptest::prelude::*;
use rust_decimal::Decimal;

/// An order one of the accounts places: price in ticks of 0.0001, quantity in cents (of the
/// quote asset for a market order by quote).
#[derive(Debug, Clone)]
struct Place {
    account: usize,
    side: Side,
    order_type: OrderType,
    price_ticks: i64,
    quantity_cents: i64,
    by_quote: bool,
}

impl Place {
    /// The engine's order, placed at `now`.
    fn new_order(&self, now: i64) -> NewOrder {
        let quantity = Decimal::new(self.quantity_cents, 2);
        let by_quote = self.by_quote && self.order_type == OrderType::Market;
        NewOrder {
            symbol: "AAAUSDT".into(),
            side: self.side,
            order_type: self.order_type,
            quantity: (!by_quote).then_some(quantity),
            quote_order_qty: by_quote.then_some(quantity),
            price: Some(Decimal::new(self.price_ticks, 4)),
            client_order_id: Some(format!("c{now}")),
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    Place(Place),
    Cancel { account: usize, nth: usize },
    CancelAll { account: usize },
}

fn op() -> impl Strategy<Value = Op> {
    let side = prop_oneof![Just(Side::Buy), Just(Side::Sell)];
    let order_type = prop_oneof![
        4 => Just(OrderType::Limit),
        1 => Just(OrderType::LimitMaker),
        1 => Just(OrderType::Market),
        1 => Just(OrderType::ImmediateOrCancel),
        1 => Just(OrderType::FillOrKill),
    ];
    prop_oneof![
        6 => (0..3usize, side, order_type, prop_oneof![9 => 9_500..10_500i64, 1 => -5..1_000_000_000_000i64], prop_oneof![9 => 1..5_000i64, 1 => -5..i64::MAX / 2], any::<bool>())
            .prop_map(|(account, side, order_type, price_ticks, quantity_cents, by_quote)| Op::Place(Place {
                account,
                side,
                order_type,
                price_ticks,
                quantity_cents,
                by_quote,
            })),
        2 => (0..3usize, 0..10usize).prop_map(|(account, nth)| Op::Cancel { account, nth }),
        1 => (0..3usize).prop_map(|account| Op::CancelAll { account }),
    ]
}

fn symbol() -> SymbolConfig {
    let mut spec = SymbolConfig::generic("AAA", "USDT", Decimal::ONE);
    spec.min_notional = Decimal::new(1, 2);
    spec.maker_fee = Decimal::new(1, 3);
    spec.taker_fee = Decimal::new(2, 3);
    spec
}

fn engine() -> (Engine, Vec<AccountId>) {
    let mut engine = Engine::new(
        [symbol()],
        EngineLimits {
            max_open_orders: 40,
            closed_orders_kept: 25,
        },
    );
    let accounts = (0..3)
        .map(|i| {
            engine.add_account([
                ("USDT".to_owned(), Decimal::from(2_000 + 500 * i)),
                ("AAA".to_owned(), Decimal::from(1_500 + 700 * i)),
            ])
        })
        .collect();
    (engine, accounts)
}

fn apply(engine: &mut Engine, accounts: &[AccountId], op: &Op, now: i64) {
    let mut out = Vec::new();
    match op {
        Op::Place(place) => {
            // Rejections are fine; they must leave everything untouched.
            let _ = engine.place(
                accounts[place.account],
                &place.new_order(now),
                now,
                &mut out,
            );
        }
        Op::Cancel { account, nth } => {
            let open = engine.open_orders(accounts[*account], None);
            if let Some(order) = open.get(*nth) {
                engine
                    .cancel(
                        accounts[*account],
                        "AAAUSDT",
                        &OrderRef::Id(order.id()),
                        now,
                        &mut out,
                    )
                    .unwrap();
            } else {
                let unknown = engine.cancel(
                    accounts[*account],
                    "AAAUSDT",
                    &OrderRef::Id("C02__999999".into()),
                    now,
                    &mut out,
                );
                assert_eq!(unknown.unwrap_err().code, -2011);
            }
        }
        Op::CancelAll { account } => {
            engine
                .cancel_all(accounts[*account], &["AAAUSDT".into()], now, &mut out)
                .unwrap();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn balances_are_conserved_and_books_never_cross(ops in proptest::collection::vec(op(), 1..120)) {
        let (mut engine, accounts) = engine();
        let initial = engine.total_by_asset();
        for (step, op) in ops.iter().enumerate() {
            apply(&mut engine, &accounts, op, i64::try_from(step).unwrap());
            prop_assert_eq!(&engine.total_by_asset(), &initial, "after step {} {:?}", step, op);
            if let Err(violation) = engine.check_invariants() {
                prop_assert!(false, "after step {} {:?}: {}", step, op, violation);
            }
            let market = engine.market("AAAUSDT").unwrap();
            prop_assert!(!market.book.is_crossed());
        }
        // Cancelling everything returns every lock.
        for account in &accounts {
            engine.cancel_all(*account, &["AAAUSDT".into()], 0, &mut Vec::new()).unwrap();
            for balance in engine.balances(*account).values() {
                prop_assert_eq!(balance.locked, Decimal::ZERO);
            }
        }
        prop_assert_eq!(engine.total_by_asset(), initial);
    }
}

#[test]
fn fees_are_collected_in_the_received_asset() {
    let (mut engine, accounts) = engine();
    let mut out = Vec::new();
    let sell = NewOrder::limit("AAAUSDT", Side::Sell, Decimal::ONE, Decimal::from(100));
    engine.place(accounts[0], &sell, 1, &mut out).unwrap();
    let buy = NewOrder::limit("AAAUSDT", Side::Buy, Decimal::ONE, Decimal::from(100));
    engine.place(accounts[1], &buy, 2, &mut out).unwrap();
    // Maker (seller) pays 0.1 % of 100 USDT, taker (buyer) 0.2 % of 100 AAA.
    assert_eq!(engine.fees_collected()["USDT"], Decimal::new(1, 1));
    assert_eq!(engine.fees_collected()["AAA"], Decimal::new(2, 1));
    assert_eq!(
        engine.balances(accounts[0])["USDT"].free,
        Decimal::new(20999, 1)
    );
    assert_eq!(
        engine.balances(accounts[1])["AAA"].free,
        Decimal::new(22998, 1)
    );
    engine.check_invariants().unwrap();
}
