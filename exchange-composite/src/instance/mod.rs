//! One deployment's identity on one machine: its name, the advisory lock that keeps a second
//! live process of that name from starting ([`InstanceLock`]), the record of the listen keys
//! it created ([`ListenKeyLedger`]), and the sweep of what a dead process of it left behind
//! ([`sweep_orphans`]).
//!
//! Files live in a state directory the caller picks (`mm-demo --state-dir`): `<name>.lock`
//! and `<name>.listen-keys`. No credential is ever written: the ledger holds SHA-256
//! fingerprints of the keys, not the keys.

mod error;
mod ledger;
mod lock;
mod name;
mod orphans;

pub use error::InstanceError;
pub use ledger::ListenKeyLedger;
pub use lock::InstanceLock;
pub use name::InstanceName;
pub use orphans::{
    KeyPolicy, KeySweep, OrphanSweepReport, sweep_orphans, sweep_recorded_listen_keys,
};
