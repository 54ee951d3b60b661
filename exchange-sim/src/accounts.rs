//! Accounts and their balances (free / locked per asset).

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use crate::events::{BalanceChange, BalanceChangeKind, Event};

/// Index of an account inside the venue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(pub usize);

/// One asset balance of an account.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Balance {
    /// Available for new orders and withdrawal.
    pub free: Decimal,
    /// Reserved by open orders.
    pub locked: Decimal,
}

/// An account: its balances per asset.
#[derive(Debug, Clone, Default)]
pub struct Account {
    /// Balances by asset name.
    pub balances: BTreeMap<String, Balance>,
}

/// Every account of the venue, indexed by [`AccountId`].
#[derive(Debug, Default)]
pub struct Accounts {
    accounts: Vec<Account>,
}

impl Accounts {
    /// Add an account with starting free balances and return its id.
    pub fn add(&mut self, balances: impl IntoIterator<Item = (String, Decimal)>) -> AccountId {
        let mut account = Account::default();
        for (asset, amount) in balances {
            account.balances.entry(asset).or_default().free += amount;
        }
        self.accounts.push(account);
        AccountId(self.accounts.len() - 1)
    }

    /// Number of accounts.
    pub fn len(&self) -> usize {
        self.accounts.len()
    }

    /// Whether there is no account.
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }

    /// The account, if it exists.
    pub fn get(&self, id: AccountId) -> Option<&Account> {
        self.accounts.get(id.0)
    }

    /// The balance of one asset (zero if the account never held it).
    pub fn balance(&self, id: AccountId, asset: &str) -> Balance {
        self.get(id)
            .and_then(|a| a.balances.get(asset).copied())
            .unwrap_or_default()
    }

    /// Iterate over all accounts.
    pub fn iter(&self) -> impl Iterator<Item = (AccountId, &Account)> {
        self.accounts
            .iter()
            .enumerate()
            .map(|(i, a)| (AccountId(i), a))
    }

    /// Move `amount` from free to locked; fails (changing nothing) if free is too small.
    pub fn lock(
        &mut self,
        id: AccountId,
        asset: &str,
        amount: Decimal,
        time: i64,
        out: &mut Vec<Event>,
    ) -> bool {
        if self.balance(id, asset).free < amount {
            return false;
        }
        self.adjust(
            id,
            asset,
            -amount,
            amount,
            BalanceChangeKind::EntrustPlace,
            time,
            out,
        );
        true
    }

    /// Change the free and locked amounts of one asset and emit the change.
    ///
    /// Callers keep the invariants (nothing goes negative); the engine only moves amounts it
    /// locked before.
    #[allow(clippy::too_many_arguments)]
    pub fn adjust(
        &mut self,
        id: AccountId,
        asset: &str,
        free_change: Decimal,
        locked_change: Decimal,
        kind: BalanceChangeKind,
        time: i64,
        out: &mut Vec<Event>,
    ) {
        if free_change.is_zero() && locked_change.is_zero() {
            return;
        }
        let Some(account) = self.accounts.get_mut(id.0) else {
            return;
        };
        let balance = account.balances.entry(asset.to_owned()).or_default();
        balance.free += free_change;
        balance.locked += locked_change;
        out.push(Event::Balance(BalanceChange {
            account: id,
            asset: asset.to_owned(),
            free: balance.free,
            locked: balance.locked,
            free_change,
            locked_change,
            kind,
            time,
        }));
    }
}
