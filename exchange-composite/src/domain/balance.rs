//! [`Balance`]: what an account holds of one asset.

use rust_decimal::Decimal;

use crate::domain::asset::AssetName;

/// Free and locked amounts of one asset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Balance {
    /// The asset.
    pub asset: AssetName,
    /// Available to trade.
    pub free: Decimal,
    /// Locked in open orders.
    pub locked: Decimal,
}

impl Balance {
    /// Free plus locked.
    pub fn total(&self) -> Decimal {
        self.free + self.locked
    }
}
