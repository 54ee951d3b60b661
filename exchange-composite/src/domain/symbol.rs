//! [`Symbol`]: a market, base against quote.

use std::fmt;

use crate::domain::asset::AssetName;

/// A market: its base and quote assets, and whether it is a futures market.
///
/// ```
/// use exchange_composite::{AssetName, Symbol};
///
/// let symbol = Symbol::spot(AssetName::new("HIFI").unwrap(), AssetName::new("USDT").unwrap());
/// assert_eq!(symbol.to_string(), "HIFI/USDT");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Symbol {
    /// What is bought and sold.
    pub base: AssetName,
    /// What it is priced in.
    pub quote: AssetName,
    /// A futures market (not a spot one).
    pub is_futures: bool,
}

impl Symbol {
    /// A spot market.
    pub fn spot(base: AssetName, quote: AssetName) -> Self {
        Self {
            base,
            quote,
            is_futures: false,
        }
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.base, self.quote)?;
        if self.is_futures {
            f.write_str(" (futures)")?;
        }
        Ok(())
    }
}
