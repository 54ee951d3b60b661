//! Domain rules: exact rounding to a market's precision, minimums, client order ids.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use exchange_composite::{ClientOrderId, ClientOrderIdGenerator, DomainError, Side, SymbolRules};
use rust_decimal::Decimal;

fn hifi_rules() -> SymbolRules {
    SymbolRules {
        price_precision: 5,
        quantity_precision: 2,
        min_quantity: Decimal::new(1, 2),
        min_notional: Decimal::ONE,
    }
}

#[test]
fn the_plans_2_1_usdt_order_is_sized_exactly() {
    let rules = hifi_rules();
    let price: Decimal = "0.09990".parse().unwrap();
    let quantity = rules
        .quantity_for_notional("2.1".parse().unwrap(), price)
        .unwrap();
    assert_eq!(quantity.to_string(), "21.03");
    assert!(quantity * price >= "2.1".parse::<Decimal>().unwrap());
    // Rounded up by less than one step.
    assert!(("21.02".parse::<Decimal>().unwrap()) * price < "2.1".parse::<Decimal>().unwrap());
}

#[test]
fn prices_round_to_the_passive_side_and_quantities_down() {
    let rules = hifi_rules();
    let price: Decimal = "0.1000049".parse().unwrap();
    assert_eq!(rules.round_price(price, Side::Buy).to_string(), "0.10000");
    assert_eq!(rules.round_price(price, Side::Sell).to_string(), "0.10001");
    assert_eq!(
        rules.round_quantity("21.039".parse().unwrap()).to_string(),
        "21.03"
    );
}

#[test]
fn minimums_and_absurd_values_are_typed_errors() {
    let rules = hifi_rules();
    let price: Decimal = "0.1".parse().unwrap();
    assert!(matches!(
        rules.check(Decimal::new(1, 3), price),
        Err(DomainError::BelowMinimumQuantity { .. })
    ));
    assert!(matches!(
        rules.check(Decimal::ONE, price),
        Err(DomainError::BelowMinimumNotional { .. })
    ));
    assert!(matches!(
        rules.quantity_for_notional(Decimal::ONE, Decimal::ZERO),
        Err(DomainError::InvalidPrice(_))
    ));
    assert!(
        rules.check(Decimal::MAX, Decimal::MAX).is_err(),
        "overflow must be an error, not a panic"
    );
}

#[test]
fn client_order_ids_are_unique_valid_and_recognisable() {
    let ids = ClientOrderIdGenerator::new("qsc-").unwrap();
    let mut seen = std::collections::HashSet::new();
    for _ in 0..10_000 {
        let id = ids.next_id();
        assert!(id.as_str().len() <= 32);
        assert!(ClientOrderId::new(id.as_str()).is_ok());
        assert!(ids.is_ours(&id));
        assert!(seen.insert(id));
    }
    let foreign = ClientOrderId::new("web-12345").unwrap();
    assert!(!ids.is_ours(&foreign));
    assert!(ClientOrderId::new("has space").is_err());
    assert!(ClientOrderIdGenerator::new("far-too-long-prefix").is_err());
}
