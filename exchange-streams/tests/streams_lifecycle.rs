//! The lifecycle of observable streams: start, stop ends every subscriber, typed errors,
//! publishing after stop, drop safety net, no leaked tasks.

mod common;

use std::time::Duration;

use common::ticker_and_trades;
use exchange_streams::{ObservableStreams, StreamError, TryRecvError};
use futures::StreamExt;
use lifecycle_core::testing::RuntimeTaskBaseline;
use lifecycle_core::{AsyncResource, LifecycleState, StateTag};

use test_support::bounded;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_subscriber_ends_on_stop_after_receiving_what_was_published_before() {
    bounded(async {
        let streams = ObservableStreams::new("streams");
        let ticker = streams.latest::<u64>("book_ticker", 0).unwrap();
        let trades = streams.events::<u64>("trades", 256).unwrap();
        streams.start().await.unwrap();

        let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(64);
        let mut readers = Vec::new();
        for _ in 0..20 {
            let mut subscription = streams.subscribe_tracked::<u64>("trades").unwrap();
            let ready = ready_tx.clone();
            readers.push(tokio::spawn(async move {
                ready.send(()).await.unwrap();
                let mut received = Vec::new();
                while let Some(item) = subscription.next().await {
                    received.push(item.unwrap());
                }
                assert!(subscription.is_ended());
                received
            }));
        }
        let mut latest_readers = Vec::new();
        for _ in 0..20 {
            let mut subscription = streams.subscribe_tracked::<u64>("book_ticker").unwrap();
            let ready = ready_tx.clone();
            latest_readers.push(tokio::spawn(async move {
                ready.send(()).await.unwrap();
                let mut last = None;
                while let Some(item) = subscription.next().await {
                    last = Some(item.unwrap());
                }
                last
            }));
        }
        for _ in 0..40 {
            ready_rx.recv().await.unwrap();
        }
        assert_eq!(streams.active_subscriptions(), 40);
        for value in 1..=100u64 {
            trades.publish(value);
            ticker.publish(value);
        }

        let report = streams.stop_within(Duration::from_secs(2)).await;
        assert!(report.is_clean(), "{report}");
        assert_eq!(streams.state(), LifecycleState::Stopped);
        assert_eq!(report.counter("streams"), Some(2));
        assert_eq!(report.counter("published"), Some(200));

        for reader in readers {
            assert_eq!(reader.await.unwrap(), (1..=100).collect::<Vec<u64>>());
        }
        for reader in latest_readers {
            // Each saw some values and ended, the final one last.
            assert_eq!(reader.await.unwrap(), Some(100));
        }
        assert_eq!(streams.active_subscriptions(), 0);
    })
    .await;
}

#[tokio::test]
async fn subscribing_is_a_typed_error_for_unknown_streams_wrong_types_before_start_and_after_stop()
{
    bounded(async {
        let streams = ObservableStreams::new("streams");
        let _ticker = streams.latest::<u64>("book_ticker", 0).unwrap();
        let _orders = streams.events::<String>("orders", 8).unwrap();

        assert!(matches!(
            streams.subscribe_tracked::<u64>("book_ticker"),
            Err(StreamError::NotStarted {
                state: StateTag::Created,
                ..
            })
        ));
        streams.start().await.unwrap();
        assert!(matches!(
            streams.subscribe_tracked::<u64>("balances"),
            Err(StreamError::UnknownStream { name }) if &*name == "balances"
        ));
        match streams.subscribe_tracked::<u32>("book_ticker") {
            Err(StreamError::TypeMismatch {
                requested, actual, ..
            }) => {
                assert_eq!(requested, "u32");
                assert_eq!(actual, "u64");
            }
            other => panic!("expected a type mismatch, got {other:?}"),
        }
        assert!(matches!(
            streams.subscribe_tracked::<u64>("orders"),
            Err(StreamError::TypeMismatch { .. })
        ));
        assert!(streams.subscribe_tracked::<String>("orders").is_ok());

        assert!(streams.stop_within(Duration::from_secs(1)).await.is_clean());
        assert!(matches!(
            streams.subscribe_tracked::<u64>("book_ticker"),
            Err(StreamError::Stopped { .. })
        ));
        assert_eq!(streams.active_subscriptions(), 0);
    })
    .await;
}

#[tokio::test]
async fn declaring_checks_names_capacities_and_the_state() {
    bounded(async {
        let streams = ObservableStreams::new("streams");
        let _ticker = streams.latest::<u64>("book_ticker", 0).unwrap();
        assert!(matches!(
            streams.latest::<u64>("book_ticker", 1),
            Err(StreamError::AlreadyExists { .. })
        ));
        assert!(matches!(
            streams.events::<u64>("book_ticker", 4),
            Err(StreamError::AlreadyExists { .. })
        ));
        assert!(matches!(
            streams.events::<u64>("trades", 0),
            Err(StreamError::InvalidCapacity { capacity: 0, .. })
        ));
        assert!(matches!(
            streams.events::<u64>("trades", exchange_streams::MAX_EVENT_CAPACITY + 1),
            Err(StreamError::InvalidCapacity { .. })
        ));
        streams.start().await.unwrap();
        // Declaring while running is allowed.
        let _trades = streams.events::<u64>("trades", 4).unwrap();
        assert!(streams.stop_within(Duration::from_secs(1)).await.is_clean());
        assert!(matches!(
            streams.events::<u64>("orders", 4),
            Err(StreamError::Stopped { .. })
        ));
        assert!(matches!(
            streams.latest::<u64>("balances", 0),
            Err(StreamError::Stopped { .. })
        ));
        let names: Vec<_> = streams
            .all_counters()
            .into_iter()
            .map(|counters| counters.name)
            .collect();
        assert_eq!(names, ["book_ticker".into(), "trades".into()]);
    })
    .await;
}

#[tokio::test]
async fn publishing_after_stop_is_ignored_and_counted() {
    bounded(async {
        let (streams, ticker, trades) = ticker_and_trades().await;
        assert!(ticker.publish(1));
        assert!(trades.publish(1));
        assert!(streams.stop_within(Duration::from_secs(1)).await.is_clean());

        assert!(ticker.is_closed());
        assert!(trades.is_closed());
        assert!(!ticker.publish(2));
        assert!(!ticker.modify(|value| *value = 3));
        assert!(!trades.publish(2));
        assert!(!trades.clone().publish(3));

        assert_eq!(ticker.current(), 1);
        let ticker_counters = streams.counters("book_ticker").unwrap();
        assert_eq!(ticker_counters.published, 1);
        assert_eq!(ticker_counters.rejected_after_stop, 2);
        let trade_counters = streams.counters("trades").unwrap();
        assert_eq!(trade_counters.published, 1);
        assert_eq!(trade_counters.rejected_after_stop, 2);
        assert_eq!(trades.published(), 1);
    })
    .await;
}

#[tokio::test]
async fn stop_is_idempotent_and_stop_before_start_is_a_no_op() {
    bounded(async {
        let streams = ObservableStreams::new("streams");
        let ticker = streams.latest::<u64>("book_ticker", 0).unwrap();
        let report = streams.stop_within(Duration::from_secs(1)).await;
        assert_eq!(report.outcome, lifecycle_core::StopOutcome::NotStarted);
        assert!(ticker.publish(1), "not stopped: publishing works");

        streams.start().await.unwrap();
        streams.start().await.unwrap();
        let first = streams.stop_within(Duration::from_secs(1)).await;
        let second = streams.stop_within(Duration::from_secs(1)).await;
        assert!(first.is_clean());
        assert_eq!(first, second);
    })
    .await;
}

#[tokio::test]
async fn dropping_the_streams_without_stop_ends_subscribers() {
    bounded(async {
        let (streams, ticker, trades) = ticker_and_trades().await;
        let mut book = streams.subscribe_tracked::<u64>("book_ticker").unwrap();
        let mut fills = streams.subscribe_tracked::<u64>("trades").unwrap();
        assert_eq!(book.next().await, Some(Ok(0)));
        let waiter = tokio::spawn(async move { fills.next().await });
        tokio::task::yield_now().await;

        drop(streams);
        assert_eq!(waiter.await.unwrap(), None);
        assert_eq!(book.next().await, None);
        assert_eq!(book.try_recv(), Err(TryRecvError::Ended));
        assert!(!ticker.publish(1));
        assert!(!trades.publish(1));
    })
    .await;
}

#[tokio::test]
async fn a_full_cycle_leaks_no_task() {
    bounded(async {
        let baseline = RuntimeTaskBaseline::capture();
        let (streams, ticker, trades) = ticker_and_trades().await;
        let mut waiting = Vec::new();
        for _ in 0..10 {
            let mut book = streams.subscribe_tracked::<u64>("book_ticker").unwrap();
            let mut fills = streams.subscribe_tracked::<u64>("trades").unwrap();
            assert_eq!(book.next().await, Some(Ok(0)));
            waiting.push(tokio::spawn(async move {
                let fill = fills.next().await;
                let book = book.next().await;
                (fill, book)
            }));
        }
        tokio::task::yield_now().await;
        trades.publish(1);
        ticker.publish(1);
        let report = streams.stop_within(Duration::from_secs(1)).await;
        assert!(report.is_clean(), "{report}");
        for task in waiting {
            let (fill, book) = task.await.unwrap();
            assert_eq!(fill, Some(Ok(1)));
            assert_eq!(book, Some(Ok(1)));
        }
        assert_eq!(streams.active_subscriptions(), 0);
        baseline.assert_back(Duration::from_secs(2)).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_while_threads_publish_ends_every_subscriber_and_accounts_for_every_publish() {
    bounded(async {
        let streams = ObservableStreams::new("streams");
        // Tiny buffers make a publish racing with the stop likely to overwrite the end marker.
        let trades = streams.events::<u64>("trades", 1).unwrap();
        let ticker = streams.latest::<u64>("book_ticker", 0).unwrap();
        streams.start().await.unwrap();
        let mut readers = Vec::new();
        for _ in 0..8 {
            let mut fills = streams.subscribe_tracked::<u64>("trades").unwrap();
            let mut book = streams.subscribe_tracked::<u64>("book_ticker").unwrap();
            readers.push(tokio::spawn(async move {
                while fills.next().await.is_some() {}
                while book.next().await.is_some() {}
            }));
        }
        let (published_tx, published_rx) = std::sync::mpsc::channel();
        let publishers: Vec<_> = (0..2)
            .map(|_| {
                let trades = trades.clone();
                let ticker = ticker.clone();
                let published_tx = published_tx.clone();
                std::thread::spawn(move || {
                    let mut attempts = 0u64;
                    // The stop closes the streams one after the other: publish until both
                    // have refused, then on for a while.
                    let (mut trades_refused, mut ticker_refused) = (false, false);
                    let mut after_stop = 0;
                    while after_stop < 1000 {
                        attempts += 1;
                        trades_refused |= !trades.publish(attempts);
                        ticker_refused |= !ticker.publish(attempts);
                        if trades_refused && ticker_refused {
                            after_stop += 1;
                        }
                        if attempts == 1 {
                            published_tx.send(()).unwrap();
                        }
                    }
                    attempts
                })
            })
            .collect();
        // Stop once both threads are publishing.
        published_rx.recv().unwrap();
        published_rx.recv().unwrap();
        let report = streams.stop_within(Duration::from_secs(2)).await;
        assert!(report.is_clean(), "{report}");
        for reader in readers {
            reader.await.unwrap();
        }
        let attempts: u64 = publishers.into_iter().map(|p| p.join().unwrap()).sum();
        assert_eq!(streams.active_subscriptions(), 0);
        for name in ["trades", "book_ticker"] {
            let counters = streams.counters(name).unwrap();
            assert!(counters.rejected_after_stop > 0, "{counters:?}");
            assert_eq!(
                counters.published + counters.rejected_after_stop,
                attempts,
                "{counters:?}"
            );
        }
    })
    .await;
}

/// A latest-value subscriber that is behind when the streams stop gets the last value, then
/// the end: `u64` and `String` alike, behind by many values or never read at all.
#[tokio::test]
async fn a_latest_subscriber_behind_at_stop_gets_the_last_value_then_ends() {
    bounded(async {
        let streams = ObservableStreams::new("streams");
        let counter = streams.latest::<u64>("counter", 0).unwrap();
        let label = streams
            .latest::<String>("label", "initial".to_owned())
            .unwrap();
        let untouched = streams
            .latest::<String>("untouched", "only".to_owned())
            .unwrap();
        streams.start().await.unwrap();
        let mut counter_behind = streams.subscribe_tracked::<u64>("counter").unwrap();
        assert_eq!(counter_behind.next().await, Some(Ok(0)));
        let mut counter_never_read = streams.subscribe_tracked::<u64>("counter").unwrap();
        let mut label_behind = streams.subscribe_tracked::<String>("label").unwrap();
        assert_eq!(label_behind.next().await, Some(Ok("initial".to_owned())));
        let mut label_never_read = streams.subscribe_tracked::<String>("label").unwrap();
        let mut untouched_never_read = streams.subscribe_tracked::<String>("untouched").unwrap();
        for value in 1..=100u64 {
            assert!(counter.publish(value));
            assert!(label.publish(format!("v{value}")));
        }
        drop(untouched);

        let report = streams.stop_within(Duration::from_secs(1)).await;
        assert!(report.is_clean(), "{report}");

        assert_eq!(counter_behind.next().await, Some(Ok(100)));
        assert_eq!(counter_behind.next().await, None);
        assert_eq!(counter_never_read.next().await, Some(Ok(100)));
        assert_eq!(counter_never_read.next().await, None);
        assert_eq!(label_behind.next().await, Some(Ok("v100".to_owned())));
        assert_eq!(label_behind.next().await, None);
        assert_eq!(label_never_read.next().await, Some(Ok("v100".to_owned())));
        assert_eq!(label_never_read.next().await, None);
        assert_eq!(
            untouched_never_read.next().await,
            Some(Ok("only".to_owned()))
        );
        assert_eq!(untouched_never_read.next().await, None);
        // An up-to-date subscriber simply ends.
        let mut up_to_date = counter_behind;
        assert_eq!(up_to_date.next().await, None);
    })
    .await;
}
