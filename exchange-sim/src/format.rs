//! Number formatting shared by REST and websocket: decimals as plain strings, times in ms.

use rust_decimal::Decimal;

/// A decimal as MEXC prints it: no exponent, no trailing zeros (`0.10000` -> `0.1`).
pub fn dec(d: Decimal) -> String {
    d.normalize().to_string()
}

/// The system's wall-clock time in ms since the Unix epoch (a running venue reads its own
/// [`SimConfig::clock`](crate::SimConfig::clock) instead).
pub fn now_ms() -> i64 {
    lifecycle_core::WallClock::system().now_ms()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn trailing_zeros_dropped() {
        assert_eq!(dec(Decimal::from_str("0.10000").unwrap()), "0.1");
        assert_eq!(dec(Decimal::from_str("100").unwrap()), "100");
        assert_eq!(dec(Decimal::ZERO), "0");
        assert!(now_ms() > 1_700_000_000_000);
    }
}
