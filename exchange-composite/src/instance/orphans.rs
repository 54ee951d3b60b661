//! [`sweep_orphans`]: what a dead process of an instance left on the venue (orders with its
//! prefix, the listen keys it recorded) cancelled, confirmed and deleted.

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use tokio::time::Instant;

use crate::account_cleaner::AccountCleaner;
use crate::config::ExchangeConfig;
use crate::instance::error::InstanceError;
use crate::instance::ledger::ListenKeyLedger;
use crate::private::Sweep;

/// Which of the account's listen keys a sweep deletes.
#[derive(Debug, Clone, Copy)]
pub enum KeyPolicy<'a> {
    /// None.
    Keep,
    /// Those recorded in this instance's ledger: created by a process of this instance, and
    /// stale if none runs now (the caller holds the instance's lock). Keys the ledger does not
    /// know (other instances', other programs') are left alone and counted.
    Recorded(&'a ListenKeyLedger),
    /// Every key of the account: only when nothing else uses the account (the way out of a
    /// full key table, MEXC's `730001`).
    All,
}

/// What a sweep of the account's listen keys came to. It never holds a key.
#[derive(Debug, Clone, Default)]
pub struct KeySweep {
    /// Keys deleted.
    pub deleted: usize,
    /// Keys that should have been deleted but were not, one line each with the error.
    pub not_deleted: Vec<String>,
    /// Keys of the account left alone (not recorded by this instance).
    pub kept: usize,
    /// Recorded keys the venue no longer has (expired, or deleted by the guardian): forgotten.
    pub recorded_gone: usize,
    /// Why the account's keys could not be listed (nothing was deleted then).
    pub listing_error: Option<String>,
}

impl KeySweep {
    /// Whether every key it should delete was deleted.
    pub fn is_complete(&self) -> bool {
        self.not_deleted.is_empty() && self.listing_error.is_none()
    }
}

impl fmt::Display for KeySweep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(error) = &self.listing_error {
            return write!(f, "listen keys not listed: {error}");
        }
        write!(
            f,
            "listen keys: {} deleted, {} not deleted, {} recorded gone already, {} not ours kept",
            self.deleted,
            self.not_deleted.len(),
            self.recorded_gone,
            self.kept
        )
    }
}

/// What an orphan sweep came to.
#[derive(Debug, Clone, Default)]
#[must_use = "what a dead process left behind and what the sweep could not clear: read it or log it"]
pub struct OrphanSweepReport {
    /// The orders with our prefix: found, cancelled, confirmed, and each one not confirmed.
    pub orders: Sweep,
    /// The listen keys.
    pub keys: KeySweep,
}

/// Cancels every open order with `config`'s client-order-id prefix on its markets and confirms
/// with a fresh listing, then deletes the listen keys `keys` names, by `timeout`, through a
/// REST client and rate limiter of its own. Orders without the prefix are never touched.
///
/// Run it only while no process of the instance runs (hold its
/// [`InstanceLock`](crate::instance::InstanceLock)): it cancels live orders too.
///
/// # Cancel safety
/// Not cancel safe: dropped half-way, some orders may be cancelled and others not, and the
/// ledger may still list deleted keys (the next sweep finds them gone). Run it to completion.
///
/// # Errors
/// [`InstanceError::Exchange`] if the REST client cannot be built; a venue that fails is
/// reported in the result (orders unconfirmed, keys not deleted), not as an error.
pub async fn sweep_orphans(
    config: &ExchangeConfig,
    keys: KeyPolicy<'_>,
    timeout: Duration,
) -> Result<OrphanSweepReport, InstanceError> {
    let cleaner = AccountCleaner::new(config, timeout).await?;
    cleaner.start_client().await;
    let deadline = Instant::now() + timeout;
    let orders = cleaner.sweep_orders(deadline).await;
    let keys = sweep_keys(&cleaner, keys, deadline).await;
    cleaner.stop().await;
    Ok(OrphanSweepReport { orders, keys })
}

/// Deletes the stale listen keys `ledger` records (see [`KeyPolicy::Recorded`]), by
/// `timeout`: the start of a process that holds the instance's lock cleans up after a dead
/// predecessor whose guardian could not (killed with it, say) before it creates its own key.
///
/// # Cancel safety
/// As [`sweep_orphans`].
///
/// # Errors
/// As [`sweep_orphans`].
pub async fn sweep_recorded_listen_keys(
    config: &ExchangeConfig,
    ledger: &ListenKeyLedger,
    timeout: Duration,
) -> Result<KeySweep, InstanceError> {
    let cleaner = AccountCleaner::new(config, timeout).await?;
    cleaner.start_client().await;
    let keys = sweep_keys(
        &cleaner,
        KeyPolicy::Recorded(ledger),
        Instant::now() + timeout,
    )
    .await;
    cleaner.stop().await;
    Ok(keys)
}

async fn sweep_keys(
    cleaner: &AccountCleaner,
    policy: KeyPolicy<'_>,
    deadline: Instant,
) -> KeySweep {
    let mut sweep = KeySweep::default();
    let ledger = match policy {
        KeyPolicy::Keep => return sweep,
        KeyPolicy::Recorded(ledger) => Some(ledger),
        KeyPolicy::All => None,
    };
    let recorded = match ledger.map(ListenKeyLedger::recorded).transpose() {
        Ok(recorded) => recorded.unwrap_or_default(),
        Err(error) => {
            sweep.listing_error = Some(error.to_string());
            return sweep;
        }
    };
    let live = match cleaner.sessions(deadline).await {
        Ok(live) => live,
        Err(error) => {
            sweep.listing_error = Some(error.to_string());
            return sweep;
        }
    };
    let mut forget: BTreeSet<String> = BTreeSet::new();
    let live_fingerprints: BTreeSet<String> = live
        .iter()
        .map(|k| ListenKeyLedger::fingerprint(k))
        .collect();
    for fingerprint in recorded.difference(&live_fingerprints) {
        sweep.recorded_gone += 1;
        forget.insert(fingerprint.clone());
    }
    for (index, key) in live.iter().enumerate() {
        let fingerprint = ListenKeyLedger::fingerprint(key);
        if ledger.is_some() && !recorded.contains(&fingerprint) {
            sweep.kept += 1;
            continue;
        }
        match cleaner.delete_session(key, deadline).await {
            Ok(()) => {
                sweep.deleted += 1;
                forget.insert(fingerprint);
            }
            Err(error) => sweep.not_deleted.push(format!(
                "listen key #{} (fingerprint {fingerprint}): {error}",
                index + 1
            )),
        }
    }
    if let Some(ledger) = ledger
        && let Err(error) = ledger.forget_fingerprints(&forget)
    {
        tracing::warn!(%error, "listen-key ledger not updated");
    }
    sweep
}
