//! Our orders as `metrics` (the facade crate): registered once per private exchange,
//! labelled `component` (its name), a no-op unless the process installed a recorder.
//!
//! | name | what |
//! | --- | --- |
//! | `quiesce_orders_placed_total` | orders sent to the venue (an unknown outcome included) |
//! | `quiesce_orders_cancelled_total` | cancels the venue acknowledged (a cycle's, a halt's, the stop's, the start's) |
//! | `quiesce_orders_unconfirmed_total` | orders a sweep (halt, stop, start) could not confirm closed |
//! | `quiesce_orders_filled_total` | orders of ours seen completely filled |

use metrics::Counter;

use crate::domain::order::OrderStatus;

/// Orders sent to the venue.
pub const ORDERS_PLACED: &str = "quiesce_orders_placed_total";
/// Cancels the venue acknowledged.
pub const ORDERS_CANCELLED: &str = "quiesce_orders_cancelled_total";
/// Orders a sweep could not confirm closed.
pub const ORDERS_UNCONFIRMED: &str = "quiesce_orders_unconfirmed_total";
/// Orders seen completely filled.
pub const ORDERS_FILLED: &str = "quiesce_orders_filled_total";

/// One exchange's order counters.
#[derive(Debug)]
pub(crate) struct OrderMetrics {
    pub(crate) placed: Counter,
    cancelled: Counter,
    unconfirmed: Counter,
    filled: Counter,
}

impl OrderMetrics {
    pub(crate) fn register(component: &str) -> Self {
        metrics::describe_counter!(ORDERS_PLACED, "Orders sent to the venue");
        metrics::describe_counter!(ORDERS_CANCELLED, "Order cancels the venue acknowledged");
        metrics::describe_counter!(
            ORDERS_UNCONFIRMED,
            "Orders a sweep (halt, stop, start) could not confirm closed"
        );
        metrics::describe_counter!(ORDERS_FILLED, "Orders of ours seen completely filled");
        let counter =
            |name: &'static str| metrics::counter!(name, "component" => component.to_owned());
        Self {
            placed: counter(ORDERS_PLACED),
            cancelled: counter(ORDERS_CANCELLED),
            unconfirmed: counter(ORDERS_UNCONFIRMED),
            filled: counter(ORDERS_FILLED),
        }
    }

    /// A sweep ended: its acknowledged cancels and the orders it could not confirm.
    pub(crate) fn swept(&self, cancelled: usize, unconfirmed: usize) {
        self.cancelled.increment(cancelled as u64);
        self.unconfirmed.increment(unconfirmed as u64);
    }

    /// A tracked order of ours closed as `status` (answered to a cancel, a query or pushed).
    pub(crate) fn closed(&self, status: OrderStatus, by_cancel: bool) {
        match status {
            OrderStatus::Filled => self.filled.increment(1),
            OrderStatus::Canceled | OrderStatus::PartiallyCanceled if by_cancel => {
                self.cancelled.increment(1);
            }
            _ => {}
        }
    }
}
