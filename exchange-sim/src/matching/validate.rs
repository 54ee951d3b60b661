//! Checks a new order against its symbol's rules: required fields, precision, minimum
//! quantity and notional, absurd values.

use rust_decimal::Decimal;

use super::order::{NewOrder, OrderType};
use crate::config::SymbolConfig;
use crate::error::ApiError;

/// Largest accepted price (anything above is "out of range").
pub const MAX_PRICE: Decimal = Decimal::from_parts(0xD4A5_1000, 0xE8, 0, false, 0); // 1e12
/// Largest accepted quantity or quote amount.
pub const MAX_QUANTITY: Decimal = Decimal::from_parts(0xA4C6_8000, 0x38D7E, 0, false, 0); // 1e15

/// Number of decimals actually used by `d` (trailing zeros ignored).
pub fn decimals(d: Decimal) -> u32 {
    d.normalize().scale()
}

/// Validate `order` for `spec`; returns the order unchanged when it is acceptable.
pub fn validate(spec: &SymbolConfig, order: &NewOrder) -> Result<(), ApiError> {
    if let Some(id) = &order.client_order_id {
        let ok = !id.is_empty()
            && id.len() <= 32
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            return Err(ApiError::illegal_param("newClientOrderId"));
        }
    }
    match order.order_type {
        OrderType::Market => {
            match (order.quantity, order.quote_order_qty) {
                (Some(qty), None) => check_quantity(spec, qty)?,
                (None, Some(quote)) => check_quote(spec, quote)?,
                (None, None) => return Err(ApiError::missing_param("quantity")),
                (Some(_), Some(_)) => {
                    return Err(ApiError::bad_request(
                        700008,
                        "Only one of 'quantity' and 'quoteOrderQty' may be sent for a MARKET order",
                    ));
                }
            }
            Ok(())
        }
        _ => {
            let price = order
                .price
                .ok_or_else(|| ApiError::missing_param("price"))?;
            let qty = order
                .quantity
                .ok_or_else(|| ApiError::missing_param("quantity"))?;
            check_price(spec, price)?;
            check_quantity(spec, qty)?;
            check_quote(spec, price * qty)
        }
    }
}

fn check_price(spec: &SymbolConfig, price: Decimal) -> Result<(), ApiError> {
    if price <= Decimal::ZERO || price > MAX_PRICE {
        return Err(ApiError::bad_request(
            30087,
            "order price exceeds the limit",
        ));
    }
    if decimals(price) > spec.quote_precision {
        return Err(ApiError::bad_request(
            400,
            format!(
                "price scale is invalid: at most {} decimals",
                spec.quote_precision
            ),
        ));
    }
    Ok(())
}

fn check_quantity(spec: &SymbolConfig, qty: Decimal) -> Result<(), ApiError> {
    if qty > MAX_QUANTITY {
        return Err(ApiError::bad_request(
            30003,
            "maximum transaction volume exceeded",
        ));
    }
    if qty <= Decimal::ZERO || qty < spec.min_quantity {
        return Err(ApiError::bad_request(
            30002,
            format!(
                "minimum transaction volume cannot be less than:{}",
                spec.min_quantity
            ),
        ));
    }
    if decimals(qty) > spec.base_precision {
        return Err(ApiError::bad_request(
            400,
            format!(
                "quantity scale is invalid: at most {} decimals",
                spec.base_precision
            ),
        ));
    }
    Ok(())
}

fn check_quote(spec: &SymbolConfig, quote: Decimal) -> Result<(), ApiError> {
    if quote > spec.max_notional || quote > MAX_QUANTITY {
        return Err(ApiError::bad_request(
            30003,
            format!(
                "maximum transaction amount cannot exceed:{}",
                spec.max_notional
            ),
        ));
    }
    if quote <= Decimal::ZERO || quote < spec.min_notional {
        return Err(ApiError::bad_request(
            30002,
            format!(
                "minimum transaction amount cannot be less than:{}",
                spec.min_notional
            ),
        ));
    }
    // A quote amount for MARKET orders: prices' precision bounds it too.
    if decimals(quote) > spec.quote_precision + spec.base_precision {
        return Err(ApiError::bad_request(400, "quoteOrderQty scale is invalid"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::Side;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn constants_are_what_they_say() {
        assert_eq!(MAX_PRICE, Decimal::from(1_000_000_000_000u64));
        assert_eq!(MAX_QUANTITY, Decimal::from(1_000_000_000_000_000u64));
    }

    #[test]
    fn hifi_rules() {
        let spec = SymbolConfig::hifiusdt();
        let ok = NewOrder::limit("HIFIUSDT", Side::Buy, d("0.09990"), d("21.2"));
        assert!(validate(&spec, &ok).is_ok());
        // 2.1 USDT clears the minimum notional.
        assert!(
            validate(
                &spec,
                &NewOrder::limit("HIFIUSDT", Side::Buy, d("0.1"), d("21"))
            )
            .is_ok()
        );
        let code = |o: NewOrder| validate(&spec, &o).unwrap_err().code;
        assert_eq!(
            code(NewOrder::limit(
                "HIFIUSDT",
                Side::Buy,
                d("0.099999"),
                d("21")
            )),
            400
        );
        assert_eq!(
            code(NewOrder::limit(
                "HIFIUSDT",
                Side::Buy,
                d("0.1"),
                d("21.123")
            )),
            400
        );
        assert_eq!(
            code(NewOrder::limit("HIFIUSDT", Side::Buy, d("0.1"), d("5"))),
            30002
        );
        assert_eq!(
            code(NewOrder::limit("HIFIUSDT", Side::Buy, d("0"), d("50"))),
            30087
        );
        assert_eq!(
            code(NewOrder::limit("HIFIUSDT", Side::Buy, d("-1"), d("50"))),
            30087
        );
        assert_eq!(
            code(NewOrder::limit(
                "HIFIUSDT",
                Side::Buy,
                d("10000000000000"),
                d("50")
            )),
            30087
        );
        assert_eq!(
            code(NewOrder::limit(
                "HIFIUSDT",
                Side::Buy,
                d("0.1"),
                d("100000000000000000000")
            )),
            30003
        );
        assert_eq!(
            code(NewOrder::limit(
                "HIFIUSDT",
                Side::Buy,
                d("1000"),
                d("1000000")
            )),
            30003
        );
        assert_eq!(
            code(
                NewOrder::limit("HIFIUSDT", Side::Buy, d("0.1"), d("50")).with_client_id("bad id!")
            ),
            700008
        );
    }
}
