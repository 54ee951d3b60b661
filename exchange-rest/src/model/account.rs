//! The account, listen keys and coin configuration.

use rust_decimal::Decimal;
use serde::Deserialize;

use super::de;

/// `GET /api/v3/account`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountInfo {
    /// Whether the key may trade.
    #[serde(default, deserialize_with = "de::lenient_bool")]
    pub can_trade: bool,
    /// Whether the key may withdraw.
    #[serde(default, deserialize_with = "de::lenient_bool")]
    pub can_withdraw: bool,
    /// Whether the key may deposit.
    #[serde(default, deserialize_with = "de::lenient_bool")]
    pub can_deposit: bool,
    /// e.g. `SPOT`.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub account_type: Option<String>,
    /// Balances (MEXC lists non-zero ones).
    #[serde(default)]
    pub balances: Vec<Balance>,
    /// e.g. `SPOT`.
    #[serde(default)]
    pub permissions: Vec<String>,
    /// Last change, ms since the Unix epoch.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub update_time: Option<i64>,
}

impl AccountInfo {
    /// The balance of `asset`, if listed.
    pub fn balance(&self, asset: &str) -> Option<&Balance> {
        self.balances.iter().find(|b| b.asset == asset)
    }
}

/// One asset's balance.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Balance {
    /// The asset.
    pub asset: String,
    /// Available.
    #[serde(deserialize_with = "de::decimal")]
    pub free: Decimal,
    /// Held by open orders.
    #[serde(deserialize_with = "de::decimal")]
    pub locked: Decimal,
}

/// `POST`, `PUT` and `DELETE /api/v3/userDataStream`: one listen key.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListenKey {
    /// The key (use it as `?listenKey=` on the private websocket).
    pub listen_key: String,
}

/// `GET /api/v3/userDataStream`: the account's listen keys.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListenKeys {
    /// The keys.
    #[serde(default, rename = "listenKey")]
    pub listen_keys: Vec<String>,
}

/// One currency of `GET /api/v3/capital/config/getall`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CoinConfig {
    /// e.g. `USDT`.
    pub coin: String,
    /// Full name.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub name: Option<String>,
    /// Networks it can move on.
    #[serde(default)]
    pub network_list: Vec<CoinNetwork>,
}

/// One network of a [`CoinConfig`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CoinNetwork {
    /// Network name.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub network: Option<String>,
    /// Deposits open.
    #[serde(default, deserialize_with = "de::lenient_bool")]
    pub deposit_enable: bool,
    /// Withdrawals open.
    #[serde(default, deserialize_with = "de::lenient_bool")]
    pub withdraw_enable: bool,
    /// Withdrawal fee.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub withdraw_fee: Option<Decimal>,
    /// Minimum withdrawal.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub withdraw_min: Option<Decimal>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_with_nulls() {
        let account: AccountInfo = serde_json::from_str(
            r#"{"makerCommission":null,"canTrade":true,"canWithdraw":false,"canDeposit":null,"updateTime":null,"accountType":"SPOT","balances":[{"asset":"USDT","free":"100000","locked":"0"}],"permissions":["SPOT"]}"#,
        )
        .unwrap();
        assert!(account.can_trade && !account.can_deposit);
        assert_eq!(
            account.balance("USDT").map(|b| b.free),
            Some(Decimal::new(100_000, 0))
        );
        let keys: ListenKeys = serde_json::from_str(r#"{"listenKey":["a","b"]}"#).unwrap();
        assert_eq!(keys.listen_keys.len(), 2);
        let coins: Vec<CoinConfig> =
            serde_json::from_str(r#"[{"coin":"USDT","networkList":[{"network":"TRC20","withdrawFee":"1","depositEnable":true}]}]"#)
                .unwrap();
        assert!(coins[0].network_list[0].deposit_enable);
    }
}
