//! [`AssetName`]: a currency or token (`"USDT"`, `"HIFI"`).

use std::fmt;
use std::sync::Arc;

use crate::error::DomainError;

/// An asset's name: non-empty, ASCII alphanumeric, stored uppercase. Cheap to clone.
///
/// ```
/// use exchange_composite::AssetName;
///
/// let usdt = AssetName::new("usdt").unwrap();
/// assert_eq!(usdt.as_str(), "USDT");
/// assert!(AssetName::new("US DT").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AssetName(Arc<str>);

impl AssetName {
    /// Validates and normalises `name`.
    pub fn new(name: &str) -> Result<Self, DomainError> {
        if name.is_empty() || name.len() > 32 || !name.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(DomainError::InvalidAsset(name.chars().take(40).collect()));
        }
        Ok(Self(name.to_ascii_uppercase().into()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AssetName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for AssetName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
