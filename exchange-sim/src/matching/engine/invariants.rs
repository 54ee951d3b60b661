//! Conservation and consistency checks of the engine (used by tests and property tests).

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::Engine;
use crate::accounts::AccountId;
use crate::matching::Side;

impl Engine {
    /// Sum over all accounts of free + locked, plus fees collected, per asset. Constant under
    /// trading (it only changes through deposits).
    pub fn total_by_asset(&self) -> BTreeMap<String, Decimal> {
        let mut totals = self.fees.clone();
        for (_, account) in self.accounts.iter() {
            for (asset, balance) in &account.balances {
                *totals.entry(asset.clone()).or_default() += balance.free + balance.locked;
            }
        }
        totals
    }

    /// Check every internal invariant; returns a description of the first violation.
    ///
    /// Books are not crossed; level totals equal the remaining quantity of their orders; each
    /// account's locked balance equals what its open orders reserve; nothing is negative.
    pub fn check_invariants(&self) -> Result<(), String> {
        let mut reserved: BTreeMap<(AccountId, String), Decimal> = BTreeMap::new();
        for (symbol, market) in &self.markets {
            if market.book.is_crossed() {
                return Err(format!("{symbol}: book crossed"));
            }
            for side in [Side::Buy, Side::Sell] {
                for (price, level) in market.book.side(side) {
                    let mut sum = Decimal::ZERO;
                    for seq in &level.queue {
                        let order = self
                            .orders
                            .get(seq)
                            .ok_or(format!("{symbol}: order {seq} in book but unknown"))?;
                        if !order.status.is_open() || order.price != *price || order.side != side {
                            return Err(format!("{symbol}: order {seq} misplaced"));
                        }
                        sum += order.remaining_qty();
                    }
                    if sum != level.total || level.total <= Decimal::ZERO {
                        return Err(format!(
                            "{symbol}: level {price} total {} != {sum}",
                            level.total
                        ));
                    }
                }
            }
        }
        for order in self.orders.values() {
            if order.locked < Decimal::ZERO {
                return Err(format!("order {} locked negative", order.seq));
            }
            if order.status.is_open() {
                let market = self.market(&order.symbol).map_err(|e| e.msg)?;
                let asset = match order.side {
                    Side::Buy => &market.spec.quote_asset,
                    Side::Sell => &market.spec.base_asset,
                };
                *reserved.entry((order.account, asset.clone())).or_default() += order.locked;
            } else if !order.locked.is_zero() {
                return Err(format!(
                    "closed order {} still locks {}",
                    order.seq, order.locked
                ));
            }
        }
        for (id, account) in self.accounts.iter() {
            for (asset, balance) in &account.balances {
                if balance.free < Decimal::ZERO || balance.locked < Decimal::ZERO {
                    return Err(format!("account {id:?} {asset} negative: {balance:?}"));
                }
                let expected = reserved.remove(&(id, asset.clone())).unwrap_or_default();
                if expected != balance.locked {
                    return Err(format!(
                        "account {id:?} {asset} locked {} but orders reserve {expected}",
                        balance.locked
                    ));
                }
            }
        }
        if let Some(((id, asset), amount)) = reserved.into_iter().find(|(_, a)| !a.is_zero()) {
            return Err(format!(
                "account {id:?} {asset}: orders reserve {amount} without balance"
            ));
        }
        Ok(())
    }
}
