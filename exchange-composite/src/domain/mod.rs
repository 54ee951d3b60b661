//! Venue-neutral domain types. Money is exact: prices and quantities are `Decimal`s.

pub(crate) mod asset;
pub(crate) mod balance;
pub(crate) mod client_order_id;
pub(crate) mod decode_error;
pub(crate) mod depth;
pub(crate) mod depth_sequencing;
pub(crate) mod limits;
pub(crate) mod local_order_book;
pub(crate) mod mapping_error;
pub(crate) mod market;
pub(crate) mod order;
pub(crate) mod order_book;
pub(crate) mod push_buffers;
pub(crate) mod push_interval;
pub(crate) mod rules;
pub(crate) mod side;
pub(crate) mod symbol;
pub(crate) mod updates;
pub(crate) mod venue_event;
