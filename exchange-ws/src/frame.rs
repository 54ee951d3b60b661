//! [`Frame`]: an inbound data frame, borrowed from the read loop (no copy, no allocation).

use bytes::Bytes;

/// An inbound data frame as handlers see it: borrowed for the duration of the call. A handler
/// that keeps a binary frame clones the [`Bytes`] (a reference count, no copy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A text frame (valid UTF-8).
    Text(&'a str),
    /// A binary frame (MEXC's protobuf pushes).
    Binary(&'a Bytes),
}

impl<'a> Frame<'a> {
    /// The payload's bytes.
    pub fn as_bytes(&self) -> &'a [u8] {
        match *self {
            Self::Text(text) => text.as_bytes(),
            Self::Binary(bytes) => bytes,
        }
    }

    /// The payload's length in bytes.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether it is a text frame.
    pub fn is_text(&self) -> bool {
        matches!(self, Self::Text(_))
    }
}
