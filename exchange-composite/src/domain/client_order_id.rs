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

    /// The next id. One allocation: the id is put together on the stack.
    pub fn next_id(&self) -> ClientOrderId {
        let sequence = self.sequence.fetch_add(1, Ordering::Relaxed);
        let mut digits = [0u8; BASE36_DIGITS];
        let sequence = base36_into(sequence, &mut digits);
        // prefix <= 12, run <= 13 (u64 seconds in base 36), '-' and the sequence stay within
        // 32 characters for the first 36^6 orders of a run, then the run part is left out,
        // which keeps the id unique within the run.
        let parts: [&[u8]; 3] =
            if self.prefix.len() + self.run.len() + 1 + sequence.len() <= MAX_ID_LEN {
                [self.run.as_bytes(), b"-", sequence]
            } else {
                [b"", b"", sequence]
            };
        let mut id = [0u8; MAX_ID_LEN];
        let mut len = 0;
        for part in std::iter::once(self.prefix.as_bytes()).chain(parts) {
            let end = len + part.len();
            if let Some(slot) = id.get_mut(len..end) {
                slot.copy_from_slice(part);
                len = end;
            }
        }
        // ASCII throughout: the prefix was validated, the rest is base 36 and '-'.
        ClientOrderId(std::str::from_utf8(&id[..len]).unwrap_or_default().into())
    }

    /// Whether `id` was made by a generator with this prefix (this run or an earlier one).
    pub fn is_ours(&self, id: &ClientOrderId) -> bool {
        id.has_prefix(&self.prefix)
    }
}

/// The longest client order id MEXC takes.
const MAX_ID_LEN: usize = 32;
/// Base-36 digits of `u64::MAX`.
const BASE36_DIGITS: usize = 13;

/// `n` in base 36, written into the end of `buf`.
fn base36_into(mut n: u64, buf: &mut [u8; BASE36_DIGITS]) -> &[u8] {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut start = BASE36_DIGITS;
    loop {
        start -= 1;
        buf[start] = DIGITS[(n % 36) as usize];
        n /= 36;
        if n == 0 || start == 0 {
            break;
        }
    }
    &buf[start..]
}

fn base36(n: u64) -> String {
    let mut buf = [0u8; BASE36_DIGITS];
    String::from_utf8_lossy(base36_into(n, &mut buf)).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base36_covers_the_whole_u64_range() {
        let mut buf = [0u8; BASE36_DIGITS];
        for (n, text) in [
            (0, "0"),
            (35, "z"),
            (36, "10"),
            (1_700_000_000, "s44we8"),
            (u64::MAX, "3w5e11264sgsf"),
        ] {
            assert_eq!(base36_into(n, &mut buf), text.as_bytes(), "{n}");
            assert_eq!(base36(n), text);
        }
    }

    #[test]
    fn ids_are_prefix_run_and_sequence_and_drop_the_run_once_too_long() {
        let clock = WallClock::simulated(1_700_000_000_000);
        let ids = ClientOrderIdGenerator::with_clock("qsc-", clock).unwrap();
        assert_eq!(ids.next_id().as_str(), "qsc-s44we8-1");
        assert_eq!(ids.next_id().as_str(), "qsc-s44we8-2");
        // 12 + 6 + 1 + 13 = 32: still fits; one more digit would not.
        let long = ClientOrderIdGenerator::with_clock("abcdefghijkl", clock).unwrap();
        long.sequence.store(u64::MAX, Ordering::Relaxed);
        let id = long.next_id();
        assert_eq!(id.as_str(), "abcdefghijkls44we8-3w5e11264sgsf");
        assert!(ClientOrderId::new(id.as_str()).is_ok());
        let far =
            ClientOrderIdGenerator::with_clock("abcdefghijkl", WallClock::simulated(i64::MAX))
                .unwrap();
        far.sequence.store(u64::MAX, Ordering::Relaxed);
        let id = far.next_id();
        assert_eq!(id.as_str(), "abcdefghijkl3w5e11264sgsf");
        assert!(ClientOrderId::new(id.as_str()).is_ok());
    }
}
