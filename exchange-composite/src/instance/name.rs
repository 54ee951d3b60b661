//! [`InstanceName`]: the name of one deployment, part of its client-order-id prefix.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::domain::symbol::Symbol;
use crate::instance::error::InstanceError;

/// Longest instance name: `mm-` + name + `-` fits the 12 characters of a prefix.
const MAX_LEN: usize = 8;

/// The name of one deployment (1 to 8 characters of `[a-z0-9_]`). Its client-order-id
/// prefix is `mm-<name>-`: the dash ends the name, so no instance's prefix starts another's.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InstanceName(String);

impl InstanceName {
    /// Validates a name.
    ///
    /// # Errors
    /// [`InstanceError::InvalidName`].
    pub fn new(name: &str) -> Result<Self, InstanceError> {
        let valid = !name.is_empty()
            && name.len() <= MAX_LEN
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if valid {
            Ok(Self(name.to_owned()))
        } else {
            Err(InstanceError::InvalidName(name.to_owned()))
        }
    }

    /// The default name of a market maker on `symbol` with the account of `api_key`: the base
    /// asset's first 4 characters and 4 hex digits of a hash of the key (`hifi3fa0`). Two
    /// deployments on one account and market need a name each (`--instance`).
    pub fn derived(symbol: &Symbol, api_key: &str) -> Self {
        let base: String = symbol
            .base
            .to_string()
            .to_ascii_lowercase()
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(4)
            .collect();
        let digest = Sha256::digest(api_key.as_bytes());
        let account = hex::encode(&digest[..2]);
        Self(format!("{base}{account}"))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The client-order-id prefix of the instance: `mm-<name>-`.
    pub fn order_prefix(&self) -> String {
        format!("mm-{}-", self.0)
    }
}

impl fmt::Display for InstanceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::domain::asset::AssetName;

    #[test]
    fn names_are_short_lowercase_words() {
        assert!(InstanceName::new("hifi3fa0").is_ok());
        for bad in ["", "toolongname", "Upper", "a-b", "a b"] {
            assert!(InstanceName::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn derived_names_follow_the_symbol_and_the_account() {
        let hifi = Symbol::spot(
            AssetName::new("HIFI").unwrap(),
            AssetName::new("USDT").unwrap(),
        );
        let btc = Symbol::spot(
            AssetName::new("BTC").unwrap(),
            AssetName::new("USDT").unwrap(),
        );
        let a = InstanceName::derived(&hifi, "KEY-A");
        assert!(
            a.as_str().starts_with("hifi") && a.as_str().len() == 8,
            "{a}"
        );
        assert_eq!(a, InstanceName::derived(&hifi, "KEY-A"));
        assert_ne!(a, InstanceName::derived(&hifi, "KEY-B"));
        assert!(
            InstanceName::derived(&btc, "KEY-A")
                .as_str()
                .starts_with("btc")
        );
        assert!(InstanceName::new(a.as_str()).is_ok());
        // The prefix fits a client-order-id prefix, and ends the name with a dash.
        let prefix = a.order_prefix();
        assert!(prefix.len() <= 12 && prefix.ends_with('-'), "{prefix}");
        assert!(crate::ClientOrderIdGenerator::new(&prefix).is_ok());
    }
}
