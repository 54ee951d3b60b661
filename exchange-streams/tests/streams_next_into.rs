//! `Subscription::next_into`: the reader's own value, written in place (a latest value with
//! `clone_from`, reusing its buffers), with `next()`'s semantics: current value first, exact
//! lag counts, the end after everything published before the stop, cancel safety.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Waker};
use std::time::Duration;

use exchange_streams::{Lagged, ObservableStreams};
use lifecycle_core::AsyncResource;

use test_support::bounded;

#[tokio::test]
async fn a_latest_value_is_written_into_the_readers_buffer_current_value_first() {
    bounded(async {
        let streams = ObservableStreams::new("streams");
        let top = streams.latest::<Vec<u64>>("top", vec![1, 2, 3]).unwrap();
        streams.start().await.unwrap();
        let mut subscription = streams.subscribe_tracked::<Vec<u64>>("top").unwrap();

        let mut into = Vec::with_capacity(16);
        let buffer = into.as_ptr();
        assert_eq!(subscription.next_into(&mut into).await, Some(Ok(())));
        assert_eq!(into, [1, 2, 3], "the current value first");
        for round in 0..100u64 {
            top.modify(|levels| levels[0] = round);
            assert_eq!(subscription.next_into(&mut into).await, Some(Ok(())));
            assert_eq!(into, [round, 2, 3]);
        }
        assert_eq!(into.as_ptr(), buffer, "never a new buffer");

        // A slow reader skips to the newest value, counted as lagged.
        top.publish(vec![7]);
        top.publish(vec![8, 9]);
        assert_eq!(subscription.next_into(&mut into).await, Some(Ok(())));
        assert_eq!(into, [8, 9]);
        assert_eq!(streams.counters("top").unwrap().lagged, 1);

        // After the stop: the last value not yet seen, then the end, `into` untouched.
        top.publish(vec![10]);
        assert!(streams.stop_within(Duration::from_secs(1)).await.is_clean());
        assert_eq!(subscription.next_into(&mut into).await, Some(Ok(())));
        assert_eq!(into, [10]);
        assert_eq!(subscription.next_into(&mut into).await, None);
        assert_eq!(into, [10]);
        assert!(subscription.is_ended());
        assert_eq!(subscription.next_into(&mut into).await, None);
    })
    .await;
}

#[tokio::test]
async fn events_are_written_in_order_with_exact_lag_counts_then_the_end() {
    bounded(async {
        let streams = ObservableStreams::new("streams");
        let trades = streams.events::<u64>("trades", 4).unwrap();
        streams.start().await.unwrap();
        let mut subscription = streams.subscribe_tracked::<u64>("trades").unwrap();
        let mut into = 0;
        trades.publish(1);
        trades.publish(2);
        assert_eq!(subscription.next_into(&mut into).await, Some(Ok(())));
        assert_eq!(into, 1);
        assert_eq!(subscription.next_into(&mut into).await, Some(Ok(())));
        assert_eq!(into, 2);
        // Six more into a buffer of four: two missed.
        for trade in 3..=8 {
            trades.publish(trade);
        }
        assert_eq!(
            subscription.next_into(&mut into).await,
            Some(Err(Lagged { missed: 2 }))
        );
        assert_eq!(into, 2, "a lag writes nothing");
        for expected in 5..=8 {
            assert_eq!(subscription.next_into(&mut into).await, Some(Ok(())));
            assert_eq!(into, expected);
        }
        assert!(streams.stop_within(Duration::from_secs(1)).await.is_clean());
        assert_eq!(subscription.next_into(&mut into).await, None);
        assert_eq!(into, 8);
    })
    .await;
}

#[tokio::test]
async fn a_dropped_wait_loses_nothing() {
    bounded(async {
        let streams = ObservableStreams::new("streams");
        let top = streams.latest::<Vec<u64>>("top", vec![0]).unwrap();
        streams.start().await.unwrap();
        let mut subscription = streams.subscribe_tracked::<Vec<u64>>("top").unwrap();
        let mut into = Vec::new();
        assert_eq!(subscription.next_into(&mut into).await, Some(Ok(())));
        {
            // Polled once (nothing new: it waits), then dropped.
            let mut cx = Context::from_waker(Waker::noop());
            let wait = pin!(subscription.next_into(&mut into));
            assert!(wait.poll(&mut cx).is_pending());
        }
        assert_eq!(into, [0], "a wait that was dropped wrote nothing");
        top.publish(vec![5]);
        assert_eq!(subscription.next_into(&mut into).await, Some(Ok(())));
        assert_eq!(into, [5]);
        assert!(streams.stop_within(Duration::from_secs(1)).await.is_clean());
    })
    .await;
}
