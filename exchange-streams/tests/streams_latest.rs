//! Latest-value streams: current value first, newest value for slow readers.

use std::collections::BTreeMap;
use std::time::Duration;

use exchange_streams::{ObservableStreams, StreamKind, TryRecvError};
use futures::StreamExt;
use lifecycle_core::AsyncResource;

use test_support::bounded;

#[tokio::test]
async fn a_late_subscriber_sees_the_latest_value_first_then_changes() {
    bounded(async {
        let streams = ObservableStreams::new("streams");
        let ticker = streams.latest::<(u32, u32)>("book_ticker", (0, 0)).unwrap();
        streams.start().await.unwrap();
        ticker.publish((1, 2));
        ticker.publish((3, 4));

        let mut late = streams
            .subscribe_tracked::<(u32, u32)>("book_ticker")
            .unwrap();
        assert_eq!(late.kind(), StreamKind::Latest);
        assert_eq!(late.next().await, Some(Ok((3, 4))));
        assert_eq!(late.try_recv(), Err(TryRecvError::Empty));
        ticker.publish((5, 6));
        assert_eq!(late.next().await, Some(Ok((5, 6))));
        assert_eq!(ticker.current(), (5, 6));
        assert_eq!(ticker.published(), 3);
        assert!(streams.stop_within(Duration::from_secs(1)).await.is_clean());
    })
    .await;
}

#[tokio::test]
async fn a_subscriber_before_any_publish_sees_the_initial_value() {
    bounded(async {
        let streams = ObservableStreams::new("streams");
        let _ticker = streams.latest::<u64>("mid", 42).unwrap();
        streams.start().await.unwrap();
        let mut subscription = streams.subscribe_tracked::<u64>("mid").unwrap();
        assert_eq!(subscription.try_recv(), Ok(42));
        assert_eq!(streams.counters("mid").unwrap().published, 0);
        assert!(streams.stop_within(Duration::from_secs(1)).await.is_clean());
    })
    .await;
}

#[tokio::test]
async fn a_slow_subscriber_skips_to_the_newest_value_and_the_skips_are_counted() {
    bounded(async {
        let streams = ObservableStreams::new("streams");
        let ticker = streams.latest::<u64>("mid", 0).unwrap();
        streams.start().await.unwrap();
        let mut subscription = streams.subscribe_tracked::<u64>("mid").unwrap();
        assert_eq!(subscription.next().await, Some(Ok(0)));
        for value in 1..=10 {
            ticker.publish(value);
        }
        assert_eq!(subscription.next().await, Some(Ok(10)));
        let counters = streams.counters("mid").unwrap();
        assert_eq!(counters.published, 10);
        assert_eq!(counters.lagged, 9);
        assert!(streams.stop_within(Duration::from_secs(1)).await.is_clean());
    })
    .await;
}

#[tokio::test]
async fn modify_changes_the_value_in_place_and_notifies() {
    bounded(async {
        let streams = ObservableStreams::new("streams");
        let balances = streams
            .latest::<BTreeMap<String, u64>>("balances", BTreeMap::new())
            .unwrap();
        streams.start().await.unwrap();
        let mut subscription = streams
            .subscribe_tracked::<BTreeMap<String, u64>>("balances")
            .unwrap();
        assert_eq!(subscription.next().await, Some(Ok(BTreeMap::new())));

        let mut next = subscription.next();
        assert!(futures::poll!(&mut next).is_pending());
        assert!(balances.modify(|map| {
            map.insert("USDT".to_owned(), 100);
        }));
        let next = next.await.unwrap().unwrap();
        assert_eq!(next.get("USDT"), Some(&100));
        assert_eq!(balances.published(), 1);
        assert!(streams.stop_within(Duration::from_secs(1)).await.is_clean());
    })
    .await;
}

#[tokio::test]
async fn publishing_replaces_values_that_own_memory() {
    bounded(async {
        let streams = ObservableStreams::new("streams");
        let status = streams
            .latest::<String>("status", "starting".to_owned())
            .unwrap();
        streams.start().await.unwrap();
        let mut subscription = streams.subscribe_tracked::<String>("status").unwrap();
        assert_eq!(subscription.try_recv(), Ok("starting".to_owned()));
        assert!(status.publish("quoting".to_owned()));
        assert_eq!(subscription.next().await, Some(Ok("quoting".to_owned())));
        assert_eq!(status.current(), "quoting");
        assert!(streams.stop_within(Duration::from_secs(1)).await.is_clean());
        assert!(!status.publish("late".to_owned()));
        assert_eq!(status.current(), "quoting");
        assert_eq!(subscription.next().await, None);
    })
    .await;
}
