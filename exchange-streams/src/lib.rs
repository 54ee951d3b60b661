//! Observable streams with tracked subscriptions that end cleanly on stop, built on tokio's
//! own channels.
//!
//! [`ObservableStreams`] is an [`AsyncResource`](lifecycle_core::AsyncResource) holding named,
//! typed streams of two kinds:
//!
//! - **latest-value** streams ([`ObservableStreams::latest`], a `BehaviorSubject` in Rx
//!   terms, on [`tokio::sync::watch`]): a new subscriber sees the current value first, then changes; a
//!   slow subscriber skips to the newest value. For the book ticker and balances.
//! - **event** streams ([`ObservableStreams::events`], on [`tokio::sync::broadcast`]): every
//!   event in order through a bounded buffer; a subscriber that falls behind learns exactly how
//!   many events it missed ([`Lagged`]) and never blocks the publisher. For trades and order
//!   updates.
//!
//! Publishing ([`LatestPublisher::publish`], [`EventPublisher::publish`]) is synchronous,
//! non-blocking and non-allocating (for websocket handler callbacks): essentially one send on
//! the raw tokio channel. [`ObservableStreams::subscribe_tracked`] returns a [`Subscription`],
//! a [`futures::Stream`] counted as active until dropped or disposed, which ends when the
//! streams stop. The crate is generic over value types; domain types live with their users.
//!
//! # Example
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use std::time::Duration;
//! use exchange_streams::{Lagged, ObservableStreams, StreamError};
//! use futures::StreamExt;
//! use lifecycle_core::AsyncResource;
//!
//! #[derive(Debug, Clone, PartialEq)]
//! struct BookTicker { bid: f64, ask: f64 }
//!
//! let streams = ObservableStreams::new("observable_streams");
//! let ticker = streams
//!     .latest("book_ticker.HIFIUSDT", BookTicker { bid: 0.0, ask: 0.0 })
//!     .unwrap();
//! let trades = streams.events::<u64>("trades.HIFIUSDT", 2).unwrap();
//! streams.start().await.unwrap();
//!
//! // A websocket handler publishes (sync, non-blocking):
//! ticker.publish(BookTicker { bid: 1.0, ask: 1.1 });
//!
//! // A strategy subscribes: the current value first.
//! let mut book = streams.subscribe_tracked::<BookTicker>("book_ticker.HIFIUSDT").unwrap();
//! assert_eq!(book.next().await, Some(Ok(BookTicker { bid: 1.0, ask: 1.1 })));
//!
//! // Events in order; a subscriber that fell behind learns how many it missed.
//! let mut fills = streams.subscribe_tracked::<u64>("trades.HIFIUSDT").unwrap();
//! for trade in 1..=5 {
//!     trades.publish(trade);
//! }
//! assert_eq!(fills.next().await, Some(Err(Lagged { missed: 3 })));
//! assert_eq!(fills.next().await, Some(Ok(4)));
//! assert_eq!(fills.next().await, Some(Ok(5)));
//!
//! // Typed errors.
//! assert!(matches!(
//!     streams.subscribe_tracked::<u64>("orders"),
//!     Err(StreamError::UnknownStream { .. })
//! ));
//! assert!(matches!(
//!     streams.subscribe_tracked::<String>("trades.HIFIUSDT"),
//!     Err(StreamError::TypeMismatch { .. })
//! ));
//!
//! // Stop: every subscription ends; publishing is ignored and counted.
//! let report = streams.stop_within(Duration::from_secs(1)).await;
//! assert!(report.is_clean());
//! assert_eq!(book.next().await, None);
//! assert_eq!(fills.next().await, None);
//! assert!(!trades.publish(6));
//! assert_eq!(streams.counters("trades.HIFIUSDT").unwrap().rejected_after_stop, 1);
//! # }
//! ```

#![doc(test(attr(deny(warnings))))]

mod counters;
mod error;
mod events;
mod latest;
mod parked;
mod registry;
mod streams;
mod subscription;

pub use counters::{StreamCounters, StreamKind};
pub use error::{Lagged, StreamError, TryRecvError};
pub use events::{EventPublisher, MAX_EVENT_CAPACITY};
pub use latest::LatestPublisher;
pub use streams::ObservableStreams;
pub use subscription::Subscription;
