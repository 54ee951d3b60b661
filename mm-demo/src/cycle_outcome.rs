//! [`CycleOutcome`]: what one cycle did with its two orders.

use std::fmt;

use exchange_composite::{Order, OrderStatus, Side};
use rust_decimal::Decimal;
use serde::Serialize;

/// One order's final outcome.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct OrderOutcome {
    /// `buy` or `sell`.
    pub(crate) side: &'static str,
    /// Our client order id.
    pub(crate) client_order_id: String,
    /// The venue's order id.
    pub(crate) order_id: String,
    /// Limit price.
    pub(crate) price: Decimal,
    /// Quantity ordered.
    pub(crate) quantity: Decimal,
    /// Quantity filled.
    pub(crate) filled_quantity: Decimal,
    /// Final status (`filled`, `canceled`, `partially canceled`, or, if it could not be
    /// learnt, the last known one).
    pub(crate) status: String,
    /// Whether the venue confirmed the order is closed.
    pub(crate) closed: bool,
}

impl OrderOutcome {
    pub(crate) fn from_order(order: &Order) -> Self {
        Self {
            side: match order.side {
                Side::Buy => "buy",
                Side::Sell => "sell",
            },
            client_order_id: order
                .client_order_id
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            order_id: order.order_id.clone(),
            price: order.price,
            quantity: order.quantity,
            filled_quantity: order.filled_quantity,
            status: order.status.to_string(),
            closed: !order.status.is_open(),
        }
    }

    /// Updates from a newer view of the order.
    pub(crate) fn update(&mut self, filled: Decimal, status: OrderStatus) {
        let mut filled = filled;
        filled.rescale(self.quantity.scale());
        self.filled_quantity = filled;
        self.status = status.to_string();
        self.closed = !status.is_open();
    }
}

impl fmt::Display for OrderOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:<4} {} @ {}  filled {}  {}  (order {}, client id {})",
            self.side,
            self.quantity,
            self.price,
            self.filled_quantity,
            self.status,
            self.order_id,
            self.client_order_id
        )
    }
}

/// What one cycle did.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CycleOutcome {
    /// The cycle's number, from 1.
    pub(crate) cycle: u64,
    /// Mid price when quoting.
    pub(crate) mid: Decimal,
    /// The buy order.
    pub(crate) buy: OrderOutcome,
    /// The sell order.
    pub(crate) sell: OrderOutcome,
    /// A shutdown request cut the wait for fills short.
    pub(crate) interrupted: bool,
    /// How long the cycle took, in milliseconds.
    pub(crate) duration_ms: f64,
}

impl fmt::Display for CycleOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "cycle {}: mid {}, {:.0} ms{}",
            self.cycle,
            self.mid,
            self.duration_ms,
            if self.interrupted {
                " (interrupted)"
            } else {
                ""
            }
        )?;
        writeln!(f, "  {}", self.buy)?;
        write!(f, "  {}", self.sell)
    }
}
