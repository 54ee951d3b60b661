//! Depth data for a local order book: [`DepthSnapshot`] (from REST) and [`DepthDiff`] (pushed).

use crate::domain::market::PriceLevel;

/// One aggregated depth push: versions `from_version..=to_version`, absolute quantities (a
/// level of quantity zero is removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepthDiff {
    /// First version this diff covers.
    pub from_version: u64,
    /// Last version this diff covers.
    pub to_version: u64,
    /// Changed bid levels.
    pub bids: Vec<PriceLevel>,
    /// Changed ask levels.
    pub asks: Vec<PriceLevel>,
}

/// A REST depth snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepthSnapshot {
    /// The version the snapshot reflects (MEXC: `lastUpdateId`).
    pub last_update_id: u64,
    /// Bid levels.
    pub bids: Vec<PriceLevel>,
    /// Ask levels.
    pub asks: Vec<PriceLevel>,
}
