//! [`WsProtocol`]: the venue specifics the manager needs (heartbeat payload, subscribe and
//! unsubscribe messages, recognising control replies), with [`MexcProtocol`] as the default.

use std::fmt;

use serde_json::Value;

/// A control reply recognised by a [`WsProtocol`]; frames that are not control replies are data
/// and go to the handlers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlReply {
    /// The answer to an application heartbeat.
    Pong,
    /// A (un)subscription was accepted for `channel`.
    Ack {
        /// The channel named by the venue.
        channel: String,
    },
    /// A subscription was refused.
    Refused {
        /// The channels named by the venue (may be empty if it named none).
        channels: Vec<String>,
        /// The venue's words.
        reason: String,
    },
    /// Some other control reply (logged at debug level, not given to handlers).
    Other,
}

/// What the manager needs to know about a venue's websocket protocol. Implement it to speak to
/// another venue; the manager itself stays venue-neutral.
pub trait WsProtocol: Send + Sync + fmt::Debug + 'static {
    /// The application heartbeat sent every heartbeat interval (`None`: no application
    /// heartbeat; protocol pings are still answered).
    fn heartbeat(&self) -> Option<String>;

    /// The text frame that subscribes `channel`.
    fn subscribe_message(&self, channel: &str) -> String;

    /// The text frame that unsubscribes `channel`.
    fn unsubscribe_message(&self, channel: &str) -> String;

    /// Classifies an inbound text frame: `Some` for a control reply, `None` for data. Must not
    /// panic on malformed input.
    fn classify_text(&self, text: &str) -> Option<ControlReply>;

    /// Classifies an inbound binary frame (default: always data).
    fn classify_binary(&self, _bytes: &[u8]) -> Option<ControlReply> {
        None
    }
}

/// MEXC spot v3: `{"method":"PING"}` heartbeats, `SUBSCRIPTION`/`UNSUBSCRIPTION` control frames,
/// acks `{"id":0,"code":0,"msg":"<channel>"}`, PONG `{"id":0,"code":0,"msg":"PONG"}`, refusals
/// with a non-zero code or a message like `Not Subscribed successfully! [<channel>].  Reason：
/// Blocked!`. Data frames are binary protobuf.
///
/// ```
/// use exchange_ws::{ControlReply, MexcProtocol, WsProtocol};
///
/// let mexc = MexcProtocol;
/// assert_eq!(mexc.heartbeat().as_deref(), Some(r#"{"method":"PING"}"#));
/// assert_eq!(
///     mexc.classify_text(r#"{"id":0,"code":0,"msg":"spot@public.aggre.bookTicker.v3.api.pb@100ms@HIFIUSDT"}"#),
///     Some(ControlReply::Ack { channel: "spot@public.aggre.bookTicker.v3.api.pb@100ms@HIFIUSDT".into() })
/// );
/// let refused = mexc.classify_text(
///     r#"{"id":0,"code":0,"msg":"Not Subscribed successfully! [spot@public.deals.v3.api@BTCUSDT].  Reason： Blocked! "}"#,
/// );
/// assert!(matches!(refused, Some(ControlReply::Refused { channels, .. }) if channels == ["spot@public.deals.v3.api@BTCUSDT"]));
/// assert_eq!(mexc.classify_text("not json"), None);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct MexcProtocol;

const NOT_SUBSCRIBED: &str = "Not Subscribed successfully";

impl WsProtocol for MexcProtocol {
    fn heartbeat(&self) -> Option<String> {
        Some(r#"{"method":"PING"}"#.to_owned())
    }

    fn subscribe_message(&self, channel: &str) -> String {
        serde_json::json!({ "method": "SUBSCRIPTION", "params": [channel] }).to_string()
    }

    fn unsubscribe_message(&self, channel: &str) -> String {
        serde_json::json!({ "method": "UNSUBSCRIPTION", "params": [channel] }).to_string()
    }

    fn classify_text(&self, text: &str) -> Option<ControlReply> {
        if !text.trim_start().starts_with('{') || !text.contains("\"msg\"") {
            return None;
        }
        let value: Value = serde_json::from_str(text).ok()?;
        let msg = value.get("msg")?.as_str()?.trim();
        let code = value.get("code").and_then(Value::as_i64).unwrap_or(0);
        if msg.contains(NOT_SUBSCRIBED) || code != 0 {
            return Some(ControlReply::Refused {
                channels: bracketed_channels(msg),
                reason: msg.to_owned(),
            });
        }
        if msg.eq_ignore_ascii_case("PONG") {
            return Some(ControlReply::Pong);
        }
        if msg.is_empty() {
            return Some(ControlReply::Other);
        }
        Some(ControlReply::Ack {
            channel: msg.to_owned(),
        })
    }
}

/// The channels inside the first `[...]` of a MEXC refusal, comma-separated.
fn bracketed_channels(msg: &str) -> Vec<String> {
    let Some(open) = msg.find('[') else {
        return Vec::new();
    };
    let Some(len) = msg[open + 1..].find(']') else {
        return Vec::new();
    };
    msg[open + 1..open + 1 + len]
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscribe_messages_are_mexc_json() {
        let p = MexcProtocol;
        assert_eq!(
            p.subscribe_message("spot@private.orders.v3.api.pb"),
            r#"{"method":"SUBSCRIPTION","params":["spot@private.orders.v3.api.pb"]}"#
        );
        assert_eq!(
            p.unsubscribe_message("a"),
            r#"{"method":"UNSUBSCRIPTION","params":["a"]}"#
        );
    }

    #[test]
    fn pong_and_errors() {
        let p = MexcProtocol;
        assert_eq!(
            p.classify_text(r#"{"id":0,"code":0,"msg":"PONG"}"#),
            Some(ControlReply::Pong)
        );
        assert!(matches!(
            p.classify_text(r#"{"id":0,"code":100403,"msg":"no permission [x]"}"#),
            Some(ControlReply::Refused { channels, .. }) if channels == ["x"]
        ));
    }

    #[test]
    fn malformed_text_is_data_and_never_panics() {
        let p = MexcProtocol;
        for text in [
            "",
            "{",
            "{\"msg\"",
            "{\"msg\":1}",
            "[1,2]",
            "{\"msg\":\"Not Subscribed successfully! [\"}",
            "{\"msg\":\"Not Subscribed successfully! ]x[\"}",
            "\u{0}\u{ffff}",
        ] {
            let _ = p.classify_text(text);
        }
        assert_eq!(p.classify_text("{\"msg\":1}"), None);
        assert!(matches!(
            p.classify_text("{\"msg\":\"Not Subscribed successfully! [\"}"),
            Some(ControlReply::Refused { channels, .. }) if channels.is_empty()
        ));
    }
}
