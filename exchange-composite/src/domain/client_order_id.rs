//! [`ClientOrderId`] and [`ClientOrderIdGenerator`]: our orders carry a recognisable prefix, so
//! orders a killed predecessor left behind can be found and cancelled at start-up.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use lifecycle_core::WallClock;

use crate::error::DomainError;

/// A client order id (`newClientOrderId` on MEXC): at most 32 characters of
/// `[A-Za-z0-9_-]`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientOrderId(Arc<str>);

impl ClientOrderId {
    /// Validates an id.
    pub fn new(id: &str) -> Result<Self, DomainError> {
        let valid = !id.is_empty()
            && id.len() <= 32
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid {
            return Err(DomainError::InvalidClientOrderId(
                id.chars().take(40).collect(),
            ));
        }
        Ok(Self(id.into()))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the id starts with `prefix` (ours).
    pub fn has_prefix(&self, prefix: &str) -> bool {
        self.0.starts_with(prefix)
    }
}

impl fmt::Debug for ClientOrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for ClientOrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Makes unique client order ids `<prefix><run>-<seq>`: the prefix marks them as ours across
/// runs, the run part (start time in seconds, base 36) keeps runs apart.
///
/// ```
/// use exchange_composite::ClientOrderIdGenerator;
///
/// let ids = ClientOrderIdGenerator::new("qsc-").unwrap();
/// let a = ids.next_id();
/// let b = ids.next_id();
/// assert_ne!(a, b);
/// assert!(a.has_prefix("qsc-") && ids.is_ours(&b));
/// ```
#[derive(Debug)]
pub struct ClientOrderIdGenerator {
    prefix: String,
    run: String,
    sequence: AtomicU64,
}

impl ClientOrderIdGenerator {
    /// A generator for ids starting with `prefix` (at most 12 characters of `[A-Za-z0-9_-]`).
    pub fn new(prefix: &str) -> Result<Self, DomainError> {
        Self::with_clock(prefix, WallClock::system())
    }

    /// As [`ClientOrderIdGenerator::new`], with the run part of the ids taken from `clock`
    /// (a simulated clock, say).
    pub fn with_clock(prefix: &str, clock: WallClock) -> Result<Self, DomainError> {
        if prefix.len() > 12 {
            return Err(DomainError::InvalidClientOrderId(prefix.to_owned()));
        }
        ClientOrderId::new(prefix)?;
        let seconds = clock.since_epoch().as_secs();
        Ok(Self {
            prefix: prefix.to_owned(),
            run: base36(seconds),
            sequence: AtomicU64::new(1),
        })
    }

    /// The prefix that marks our orders.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The next id.
    pub fn next_id(&self) -> ClientOrderId {
        let sequence = self.sequence.fetch_add(1, Ordering::Relaxed);
        // prefix <= 12, run <= 13 (u64 seconds in base 36), '-' and the sequence stay within
        // 32 characters for the first 36^6 orders of a run, then the id is truncated from the
        // run part, which keeps it unique within the run.
        let mut id = format!("{}{}-{}", self.prefix, self.run, base36(sequence));
        if id.len() > 32 {
            id = format!("{}{}", self.prefix, base36(sequence));
        }
        ClientOrderId(id.into())
    }

    /// Whether `id` was made by a generator with this prefix (this run or an earlier one).
    pub fn is_ours(&self, id: &ClientOrderId) -> bool {
        id.has_prefix(&self.prefix)
    }
}

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}
