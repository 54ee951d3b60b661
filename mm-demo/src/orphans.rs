//! `mm-demo cancel-orphans`: what a dead process of this instance left on the venue, cleared.

use exchange_composite::instance::{KeyPolicy, sweep_orphans};

use crate::cli::{Cli, OrphanArgs};
use crate::instance::Instance;
use crate::output;
use crate::venue::external_config;

/// Runs the sweep; returns the exit code (0 every order confirmed closed, 1 otherwise or if
/// it could not run).
pub(crate) async fn run(cli: &Cli, args: &OrphanArgs) -> i32 {
    let (mut config, kind, name) = match external_config(cli) {
        Ok(config) => config,
        Err(error) => {
            tracing::error!(%error, "cancel-orphans cannot reach the venue");
            output::print(&format!("cancel-orphans: {error}"));
            return 1;
        }
    };
    let instance = match Instance::lock(cli, name) {
        Ok(instance) => instance,
        Err(error) => {
            tracing::error!(%error, "cancel-orphans refused");
            output::print(&format!("cancel-orphans: refused: {error}"));
            return 1;
        }
    };
    if let Some(prefix) = &args.prefix {
        config.client_order_id_prefix = prefix.clone();
    }
    let keys = if args.delete_all_listen_keys {
        KeyPolicy::All
    } else {
        KeyPolicy::Recorded(&instance.ledger)
    };
    let prefix = config.client_order_id_prefix.clone();
    let report = match sweep_orphans(&config, keys, args.sweep_timeout).await {
        Ok(report) => report,
        Err(error) => {
            output::print(&format!("cancel-orphans: {error}"));
            return 1;
        }
    };
    let orders = &report.orders;
    let mut text = format!(
        "cancel-orphans: instance {} on the {kind} venue, prefix {prefix:?}\norders of ours: {} found open, {} cancelled, {}\n",
        instance.name,
        orders.found,
        orders.cancelled,
        if orders.confirmed {
            "confirmed: none left open".to_owned()
        } else {
            format!(
                "NOT confirmed: {} may still be open",
                orders.unconfirmed.len()
            )
        },
    );
    for line in orders.unconfirmed.iter().chain(&orders.note) {
        text.push_str(&format!("  {line}\n"));
    }
    text.push_str(&format!("{}\n", report.keys));
    for line in &report.keys.not_deleted {
        text.push_str(&format!("  {line}\n"));
    }
    output::print(text.trim_end());
    tracing::info!(
        instance = %instance.name,
        found = orders.found,
        cancelled = orders.cancelled,
        confirmed = orders.confirmed,
        keys_deleted = report.keys.deleted,
        "cancel-orphans done"
    );
    drop(instance);
    if orders.confirmed { 0 } else { 1 }
}
