//! Event streams: order, exact lag counts, a publisher that never waits.

use std::time::Duration;

use exchange_streams::{Lagged, ObservableStreams, StreamKind, TryRecvError};
use futures::StreamExt;
use lifecycle_core::AsyncResource;

use test_support::bounded;

#[tokio::test]
async fn events_arrive_in_publish_order() {
    bounded(async {
        let streams = ObservableStreams::new("streams");
        let trades = streams.events::<u64>("trades", 1024).unwrap();
        streams.start().await.unwrap();
        let mut subscription = streams.subscribe_tracked::<u64>("trades").unwrap();
        assert_eq!(subscription.kind(), StreamKind::Events);

        let publisher = tokio::spawn(async move {
            for trade in 0..500u64 {
                assert!(trades.publish(trade));
                if trade % 50 == 0 {
                    tokio::task::yield_now().await;
                }
            }
            trades
        });
        for expected in 0..500u64 {
            assert_eq!(subscription.next().await, Some(Ok(expected)));
        }
        let trades = publisher.await.unwrap();
        assert_eq!(trades.published(), 500);
        let counters = streams.counters("trades").unwrap();
        assert_eq!(counters.published, 500);
        assert_eq!(counters.lagged, 0);
        assert!(streams.stop_within(Duration::from_secs(1)).await.is_clean());
    })
    .await;
}

#[tokio::test]
async fn a_subscriber_sees_only_events_published_after_it_subscribed() {
    bounded(async {
        let streams = ObservableStreams::new("streams");
        let orders = streams.events::<u64>("orders", 16).unwrap();
        streams.start().await.unwrap();
        orders.publish(1);
        let mut subscription = streams.subscribe_tracked::<u64>("orders").unwrap();
        assert_eq!(subscription.try_recv(), Err(TryRecvError::Empty));
        orders.publish(2);
        assert_eq!(subscription.next().await, Some(Ok(2)));
        assert!(streams.stop_within(Duration::from_secs(1)).await.is_clean());
    })
    .await;
}

#[tokio::test]
async fn a_lagging_subscriber_learns_the_exact_number_missed_and_the_publisher_never_waits() {
    bounded(async {
        let streams = ObservableStreams::new("streams");
        let trades = streams.events::<u64>("trades", 8).unwrap();
        streams.start().await.unwrap();
        let mut slow = streams.subscribe_tracked::<u64>("trades").unwrap();
        let mut fast = streams.subscribe_tracked::<u64>("trades").unwrap();

        // 100 events while the slow subscriber reads nothing: all publishes succeed at once.
        for trade in 0..100u64 {
            assert!(trades.publish(trade));
            assert_eq!(fast.try_recv(), Ok(trade));
        }
        assert_eq!(slow.next().await, Some(Err(Lagged { missed: 92 })));
        for expected in 92..100u64 {
            assert_eq!(slow.next().await, Some(Ok(expected)));
        }
        assert_eq!(slow.try_recv(), Err(TryRecvError::Empty));

        // Through try_recv too.
        for trade in 100..120u64 {
            trades.publish(trade);
        }
        assert_eq!(
            slow.try_recv(),
            Err(TryRecvError::Lagged(Lagged { missed: 12 }))
        );
        assert_eq!(slow.try_recv(), Ok(112));

        let counters = streams.counters("trades").unwrap();
        assert_eq!(counters.published, 120);
        assert_eq!(counters.lagged, 92 + 12);
        assert!(streams.stop_within(Duration::from_secs(1)).await.is_clean());
    })
    .await;
}

#[tokio::test]
async fn a_waiting_subscriber_wakes_for_the_next_event() {
    bounded(async {
        let streams = ObservableStreams::new("streams");
        let orders = streams.events::<String>("orders", 4).unwrap();
        streams.start().await.unwrap();
        let mut subscription = streams.subscribe_tracked::<String>("orders").unwrap();
        {
            let mut next = subscription.next();
            // Waiting: the receiver is parked in its wait future.
            assert!(futures::poll!(&mut next).is_pending());
            orders.publish("filled".to_owned());
            assert_eq!(next.await, Some(Ok("filled".to_owned())));
        }
        // After a wait, the synchronous path works again.
        orders.publish("cancelled".to_owned());
        assert_eq!(subscription.try_recv(), Ok("cancelled".to_owned()));
        assert!(streams.stop_within(Duration::from_secs(1)).await.is_clean());
    })
    .await;
}

/// An event stream counted its publishes with a receiver that never read, so every stream
/// held its last `capacity` events (and what they own) for its whole life: a market maker's
/// private streams grew by about 1.8 KB a cycle until their 4096-event buffers were full. An
/// event now lives only while a subscriber still has to read it.
#[tokio::test]
async fn events_no_subscriber_still_has_to_read_are_not_kept() {
    bounded(async {
        let streams = ObservableStreams::new("streams");
        let orders = streams
            .events::<std::sync::Arc<String>>("orders", 4096)
            .unwrap();
        streams.start().await.unwrap();
        let event = std::sync::Arc::new("an order update".to_owned());
        // Nobody subscribed: published, counted, and dropped at once.
        for _ in 0..100 {
            assert!(orders.publish(event.clone()));
        }
        assert_eq!(std::sync::Arc::strong_count(&event), 1, "nothing kept");
        assert_eq!(orders.published(), 100);
        // A subscriber that read everything keeps nothing either.
        let mut subscription = streams
            .subscribe_tracked::<std::sync::Arc<String>>("orders")
            .unwrap();
        for _ in 0..10 {
            assert!(orders.publish(event.clone()));
        }
        assert_eq!(std::sync::Arc::strong_count(&event), 11, "unread: kept");
        for _ in 0..10 {
            assert!(subscription.next().await.unwrap().is_ok());
        }
        assert_eq!(std::sync::Arc::strong_count(&event), 1, "read: released");
        assert_eq!(streams.counters("orders").unwrap().published, 110);
        // Closing still ends the subscriber after what it had not read.
        assert!(orders.publish(event.clone()));
        assert!(streams.stop_within(Duration::from_secs(1)).await.is_clean());
        assert!(subscription.next().await.unwrap().is_ok());
        assert_eq!(subscription.next().await, None);
        assert!(!orders.publish(event.clone()), "refused after stop");
        assert_eq!(std::sync::Arc::strong_count(&event), 1);
    })
    .await;
}
