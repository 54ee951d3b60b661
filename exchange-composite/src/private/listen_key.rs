//! [`ListenKey`]: the token of a private-stream session, a credential that never shows.

use std::fmt;

/// The listen key a private exchange holds (or `None` between keys): a credential for the
/// account's private stream. Its `Debug` prints `<listen key>` or `None`, never the key.
///
/// [`PrivateCompositeExchange::listen_key_watch`](crate::PrivateCompositeExchange::listen_key_watch)
/// follows it, so a process of ours that must delete it if we die (the order guardian) always
/// knows the current one.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ListenKey(Option<String>);

impl ListenKey {
    /// A key (or no key).
    pub fn new(key: Option<String>) -> Self {
        Self(key)
    }

    /// The key itself, to use it or hand it over a private channel: never log it.
    pub fn reveal(&self) -> Option<&str> {
        self.0.as_deref()
    }

    /// Whether a key is held.
    pub fn is_some(&self) -> bool {
        self.0.is_some()
    }

    /// Takes the key out, leaving `None`.
    pub(crate) fn take(&mut self) -> Option<String> {
        self.0.take()
    }
}

impl fmt::Debug for ListenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "<listen key>"
        } else {
            "None"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::ListenKey;

    #[test]
    fn debug_never_shows_the_key() {
        let key = ListenKey::new(Some("SECRETKEY123".to_owned()));
        assert_eq!(format!("{key:?}"), "<listen key>");
        assert_eq!(key.reveal(), Some("SECRETKEY123"));
        assert_eq!(format!("{:?}", ListenKey::default()), "None");
    }
}
