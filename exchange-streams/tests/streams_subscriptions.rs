//! Tracked subscriptions: counted until dropped or disposed, many subscribers, concurrent
//! publishers.

mod common;

use std::time::Duration;

use common::ticker_and_trades;
use exchange_streams::ObservableStreams;
use futures::StreamExt;
use lifecycle_core::AsyncResource;

use test_support::bounded;

#[tokio::test]
async fn dispose_and_drop_both_untrack() {
    bounded(async {
        let (streams, _ticker, _trades) = ticker_and_trades().await;
        assert_eq!(streams.active_subscriptions(), 0);

        let book = streams.subscribe_tracked::<u64>("book_ticker").unwrap();
        let fills = streams.subscribe_tracked::<u64>("trades").unwrap();
        let other_fills = streams.subscribe_tracked::<u64>("trades").unwrap();
        assert_eq!(streams.active_subscriptions(), 3);
        assert_eq!(streams.counters("trades").unwrap().active_subscriptions, 2);
        assert_eq!(book.name(), "book_ticker");

        book.dispose();
        assert_eq!(streams.active_subscriptions(), 2);
        assert_eq!(
            streams
                .counters("book_ticker")
                .unwrap()
                .active_subscriptions,
            0
        );
        drop(fills);
        assert_eq!(streams.active_subscriptions(), 1);

        // Ended but not dropped: still counted (ending is explicit: `dispose` or a drop).
        assert!(streams.stop_within(Duration::from_secs(1)).await.is_clean());
        let mut other_fills = other_fills;
        assert_eq!(other_fills.next().await, None);
        assert_eq!(streams.active_subscriptions(), 1);
        other_fills.dispose();
        assert_eq!(streams.active_subscriptions(), 0);
    })
    .await;
}

#[tokio::test]
async fn dropping_a_subscription_that_waits_untracks_it() {
    bounded(async {
        let streams = ObservableStreams::new("streams");
        let trades = streams.events::<u64>("trades", 8).unwrap();
        streams.start().await.unwrap();
        let mut fills = streams.subscribe_tracked::<u64>("trades").unwrap();
        // Park the subscription in its wait future, then give up on it.
        assert!(futures::poll!(fills.next()).is_pending());
        assert_eq!(streams.active_subscriptions(), 1);
        drop(fills);
        assert_eq!(streams.active_subscriptions(), 0);
        assert!(trades.publish(1));
        assert!(streams.stop_within(Duration::from_secs(1)).await.is_clean());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_subscribers_each_get_every_event_from_concurrent_publishers() {
    bounded(async {
        const SUBSCRIBERS: usize = 64;
        const PUBLISHERS: u64 = 4;
        const PER_PUBLISHER: u64 = 250;
        let streams = ObservableStreams::new("streams");
        let trades = streams.events::<u64>("trades", 4096).unwrap();
        streams.start().await.unwrap();

        let mut readers = Vec::new();
        for _ in 0..SUBSCRIBERS {
            let mut subscription = streams.subscribe_tracked::<u64>("trades").unwrap();
            readers.push(tokio::spawn(async move {
                let mut per_publisher = vec![Vec::new(); PUBLISHERS as usize];
                while let Some(event) = subscription.next().await {
                    let event = event.unwrap();
                    per_publisher[(event / PER_PUBLISHER) as usize].push(event % PER_PUBLISHER);
                }
                per_publisher
            }));
        }
        assert_eq!(streams.active_subscriptions(), SUBSCRIBERS);

        let publishers: Vec<_> = (0..PUBLISHERS)
            .map(|publisher| {
                let trades = trades.clone();
                std::thread::spawn(move || {
                    for i in 0..PER_PUBLISHER {
                        assert!(trades.publish(publisher * PER_PUBLISHER + i));
                    }
                })
            })
            .collect();
        for publisher in publishers {
            publisher.join().unwrap();
        }
        assert_eq!(trades.published(), PUBLISHERS * PER_PUBLISHER);

        assert!(streams.stop_within(Duration::from_secs(2)).await.is_clean());
        for reader in readers {
            let per_publisher = reader.await.unwrap();
            for events in per_publisher {
                // Every event of each publisher, in that publisher's order.
                assert_eq!(events, (0..PER_PUBLISHER).collect::<Vec<_>>());
            }
        }
        assert_eq!(streams.active_subscriptions(), 0);
        let counters = streams.counters("trades").unwrap();
        assert_eq!(counters.published, PUBLISHERS * PER_PUBLISHER);
        assert_eq!(counters.lagged, 0);
    })
    .await;
}

#[tokio::test]
async fn next_is_cancel_safe_and_try_recv_works_on_a_waiting_subscription() {
    bounded(async {
        let (streams, ticker, trades) = ticker_and_trades().await;
        let mut book = streams.subscribe_tracked::<u64>("book_ticker").unwrap();
        let mut fills = streams.subscribe_tracked::<u64>("trades").unwrap();
        assert_eq!(book.next().await, Some(Ok(0)));

        // Both wait (their receivers move into their wait futures), then the waits are dropped.
        assert!(futures::poll!(book.next()).is_pending());
        assert!(futures::poll!(fills.next()).is_pending());
        ticker.publish(1);
        trades.publish(1);
        trades.publish(2);

        // Nothing was lost: a synchronous read finds the values, then the async path goes on.
        assert_eq!(book.try_recv(), Ok(1));
        assert_eq!(fills.try_recv(), Ok(1));
        assert_eq!(fills.next().await, Some(Ok(2)));
        assert_eq!(fills.try_recv(), Err(exchange_streams::TryRecvError::Empty));

        // Cancelled inside a select!, the value still arrives on the next call.
        tokio::select! {
            biased;
            _ = fills.next() => panic!("nothing was published"),
            () = std::future::ready(()) => {}
        }
        trades.publish(3);
        assert_eq!(fills.next().await, Some(Ok(3)));
        assert!(streams.stop_within(Duration::from_secs(1)).await.is_clean());
    })
    .await;
}
