//! Read-only queries: one order, open orders, order history.

use super::Engine;
use crate::accounts::AccountId;
use crate::error::ApiError;
use crate::matching::order::{Order, OrderRef, parse_order_id};

impl Engine {
    /// Number of open orders of an account.
    pub fn open_order_count(&self, account: AccountId) -> usize {
        self.by_account
            .get(&account)
            .map(|o| o.open.len())
            .unwrap_or(0)
    }

    /// Look up an order of `account` on `symbol` (open or remembered closed); `-2013` if there is
    /// none.
    pub fn query(
        &self,
        account: AccountId,
        symbol: &str,
        order_ref: &OrderRef,
    ) -> Result<Order, ApiError> {
        self.market(symbol)?;
        self.resolve(account, order_ref)
            .and_then(|seq| self.orders.get(&seq))
            .filter(|o| o.symbol == symbol)
            .cloned()
            .ok_or_else(ApiError::order_does_not_exist)
    }

    /// Open orders of `account`, optionally of one symbol, oldest first.
    pub fn open_orders(&self, account: AccountId, symbol: Option<&str>) -> Vec<Order> {
        self.by_account
            .get(&account)
            .map(|a| {
                a.open
                    .iter()
                    .filter_map(|seq| self.orders.get(seq))
                    .filter(|o| symbol.is_none_or(|s| o.symbol == s))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The newest `limit` orders of `account` on `symbol`, oldest first.
    pub fn all_orders(&self, account: AccountId, symbol: &str, limit: usize) -> Vec<Order> {
        let mut orders: Vec<Order> = self
            .by_account
            .get(&account)
            .map(|a| {
                a.known
                    .iter()
                    .rev()
                    .filter_map(|seq| self.orders.get(seq))
                    .filter(|o| o.symbol == symbol)
                    .take(limit)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        orders.reverse();
        orders
    }

    pub(super) fn resolve(&self, account: AccountId, order_ref: &OrderRef) -> Option<u64> {
        let seq = match order_ref {
            OrderRef::Id(id) => parse_order_id(id)?,
            OrderRef::ClientId(client) => *self.client_ids.get(&(account, client.clone()))?,
        };
        self.orders
            .get(&seq)
            .filter(|o| o.account == account)
            .map(|o| o.seq)
    }
}
