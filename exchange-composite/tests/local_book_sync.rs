//! The local order book: version rules, resync on gaps, and agreement with a reference book.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::BTreeMap;
use std::sync::Arc;

use exchange_composite::mexc::MexcDepthVersions;
use exchange_composite::{DepthDiff, DepthSnapshot, DiffOutcome, LocalOrderBook, PriceLevel, Side};
use proptest::prelude::*;
use rust_decimal::Decimal;

fn level(price: i64, quantity: i64) -> PriceLevel {
    PriceLevel {
        price: Decimal::new(price, 4),
        quantity: Decimal::new(quantity, 0),
    }
}

/// A book on MEXC's version rule.
fn mexc_book() -> LocalOrderBook {
    LocalOrderBook::new(Arc::new(MexcDepthVersions))
}

fn diff(from: u64, to: u64, bids: Vec<PriceLevel>, asks: Vec<PriceLevel>) -> DepthDiff {
    DepthDiff {
        from_version: from,
        to_version: to,
        bids,
        asks,
    }
}

#[test]
fn buffered_diffs_older_than_the_snapshot_are_dropped_and_newer_ones_replayed() {
    let mut book = mexc_book();
    assert_eq!(
        book.on_diff(&diff(9, 9, vec![level(990, 1)], vec![])),
        DiffOutcome::Buffered
    );
    assert_eq!(
        book.on_diff(&diff(10, 11, vec![level(995, 2)], vec![])),
        DiffOutcome::Buffered
    );
    assert_eq!(
        book.on_diff(&diff(12, 12, vec![], vec![level(1005, 3)])),
        DiffOutcome::Buffered
    );
    let outcome = book.on_snapshot(DepthSnapshot {
        last_update_id: 10,
        bids: vec![level(980, 5)],
        asks: vec![level(1010, 5)],
    });
    assert_eq!(outcome, DiffOutcome::Applied);
    assert_eq!(book.version(), Some(12));
    // 9 was stale (in the snapshot); 10..11 overlapped the snapshot and was applied; 12 followed.
    assert_eq!(
        book.book().levels(Side::Buy, 5),
        vec![level(995, 2), level(980, 5)]
    );
    assert_eq!(book.book().best_ask(), Some(level(1005, 3)));
    assert_eq!(
        book.on_diff(&diff(12, 12, vec![], vec![])),
        DiffOutcome::Stale
    );
}

#[test]
fn a_gap_discards_the_book_until_a_new_snapshot() {
    let mut book = mexc_book();
    book.on_snapshot(DepthSnapshot {
        last_update_id: 100,
        bids: vec![level(990, 1)],
        asks: vec![level(1010, 1)],
    });
    assert_eq!(
        book.on_diff(&diff(101, 101, vec![level(991, 1)], vec![])),
        DiffOutcome::Applied
    );
    assert_eq!(
        book.on_diff(&diff(103, 104, vec![], vec![])),
        DiffOutcome::ResyncNeeded {
            expected: 102,
            got: 103
        }
    );
    assert!(!book.is_synced());
    assert_eq!(book.book().depth(), (0, 0));
    assert_eq!(book.resyncs(), 1);
    // Diffs wait for the next snapshot, then the book is consistent again.
    assert_eq!(
        book.on_diff(&diff(105, 105, vec![level(992, 4)], vec![])),
        DiffOutcome::Buffered
    );
    book.on_snapshot(DepthSnapshot {
        last_update_id: 104,
        bids: vec![level(990, 1)],
        asks: vec![level(1010, 1)],
    });
    assert_eq!(book.version(), Some(105));
    assert_eq!(book.book().best_bid(), Some(level(992, 4)));
}

#[test]
fn a_diff_that_crosses_the_book_forces_a_resync() {
    let mut book = mexc_book();
    book.on_snapshot(DepthSnapshot {
        last_update_id: 1,
        bids: vec![level(990, 1)],
        asks: vec![level(1010, 1)],
    });
    let outcome = book.on_diff(&diff(2, 2, vec![level(1020, 1)], vec![]));
    assert!(matches!(outcome, DiffOutcome::ResyncNeeded { .. }));
    assert!(!book.is_synced());
}

/// Versions come from the venue: the largest `u64` is a value a hostile venue can send, and
/// neither a gap check nor a crossed book overflows on it.
#[test]
fn the_largest_versions_do_not_overflow() {
    let mut book = mexc_book();
    book.on_snapshot(DepthSnapshot {
        last_update_id: u64::MAX - 1,
        bids: vec![level(990, 1)],
        asks: vec![level(1010, 1)],
    });
    assert_eq!(
        book.on_diff(&diff(u64::MAX, u64::MAX, vec![level(991, 1)], vec![])),
        DiffOutcome::Applied
    );
    assert_eq!(book.version(), Some(u64::MAX));
    // Anything after the last version is stale: it cannot follow it.
    assert_eq!(
        book.on_diff(&diff(u64::MAX, u64::MAX, vec![], vec![])),
        DiffOutcome::Stale
    );
    // A crossing diff at the last version resyncs without overflow.
    let mut crossing = mexc_book();
    crossing.on_snapshot(DepthSnapshot {
        last_update_id: u64::MAX - 1,
        bids: vec![level(990, 1)],
        asks: vec![level(1010, 1)],
    });
    assert!(matches!(
        crossing.on_diff(&diff(u64::MAX, u64::MAX, vec![level(1020, 1)], vec![])),
        DiffOutcome::ResyncNeeded { .. }
    ));
}

proptest! {
    /// Whatever contiguous diffs arrive, the local book equals a reference book that applied
    /// every change since the snapshot.
    #[test]
    fn the_local_book_matches_a_reference(changes in proptest::collection::vec((any::<bool>(), 900i64..1100, 0i64..5), 1..200)) {
        let mut reference: [BTreeMap<Decimal, Decimal>; 2] = [BTreeMap::new(), BTreeMap::new()];
        let mut book = mexc_book();
        book.on_snapshot(DepthSnapshot { last_update_id: 0, bids: vec![], asks: vec![] });
        for (version, (is_bid, price, quantity)) in changes.into_iter().enumerate() {
            // Keep the sides apart so the book never crosses: bids below 1000, asks above.
            let price = if is_bid { price.min(999) } else { price.max(1001) };
            let l = level(price, quantity);
            let side = usize::from(!is_bid);
            if quantity == 0 { reference[side].remove(&l.price); } else { reference[side].insert(l.price, l.quantity); }
            let v = version as u64 + 1;
            let d = if is_bid { diff(v, v, vec![l], vec![]) } else { diff(v, v, vec![], vec![l]) };
            prop_assert_eq!(book.on_diff(&d), DiffOutcome::Applied);
        }
        let bids: Vec<_> = reference[0].iter().rev().map(|(p, q)| PriceLevel { price: *p, quantity: *q }).collect();
        let asks: Vec<_> = reference[1].iter().map(|(p, q)| PriceLevel { price: *p, quantity: *q }).collect();
        prop_assert_eq!(book.book().levels(Side::Buy, usize::MAX), bids);
        prop_assert_eq!(book.book().levels(Side::Sell, usize::MAX), asks);
    }
}
