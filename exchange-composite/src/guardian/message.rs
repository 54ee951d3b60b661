//! [`ParentMessage`]: what the parent tells its order guardian, one JSON line each, over the
//! guardian's stdin; and [`ARMED`], the guardian's one answer on its stdout.

use std::time::Duration;

use exchange_rest::Credentials;
use serde::{Deserialize, Serialize};

use crate::domain::asset::AssetName;
use crate::domain::symbol::Symbol;
use crate::guardian::brief::GuardianBrief;
use crate::guardian::error::GuardianError;
use crate::private::ListenKey;

/// The line the guardian writes on its stdout once it is ready to act.
pub const ARMED: &str = "armed";

/// A message from the parent to its guardian. `Debug` never shows a credential.
#[derive(Debug, Clone)]
pub enum ParentMessage {
    /// The first message: who we are and where (credentials included).
    Brief(GuardianBrief),
    /// The listen key the parent holds now (`None`: none, or deleted by the parent itself).
    ListenKey(ListenKey),
    /// The parent ends cleanly (its orders cancelled and confirmed): exit, touch nothing.
    Clean,
}

/// The wire form (one JSON object per line).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Wire {
    Brief {
        rest_url: String,
        api_key: String,
        api_secret: String,
        prefix: String,
        /// `BASE/QUOTE` of each spot market.
        symbols: Vec<(String, String)>,
        parent_pid: u32,
        sweep_timeout_ms: u64,
        request_timeout_ms: u64,
    },
    ListenKey {
        key: Option<String>,
    },
    Clean,
}

impl ParentMessage {
    /// The message as one line (with its newline). It may carry credentials: write it only
    /// to the guardian's pipe.
    pub fn to_line(&self) -> String {
        let wire = match self {
            Self::Brief(brief) => Wire::Brief {
                rest_url: brief.rest_url.clone(),
                api_key: brief.credentials.api_key().to_owned(),
                api_secret: brief.credentials.secret().reveal_for_handoff().to_owned(),
                prefix: brief.client_order_id_prefix.clone(),
                symbols: brief
                    .symbols
                    .iter()
                    .map(|s| (s.base.to_string(), s.quote.to_string()))
                    .collect(),
                parent_pid: brief.parent_pid,
                sweep_timeout_ms: millis(brief.sweep_timeout),
                request_timeout_ms: millis(brief.request_timeout),
            },
            Self::ListenKey(key) => Wire::ListenKey {
                key: key.reveal().map(str::to_owned),
            },
            Self::Clean => Wire::Clean,
        };
        // Serialising plain strings and numbers cannot fail; an empty object would be refused
        // by the guardian, which then acts as if the parent were gone (the safe side).
        let mut line = serde_json::to_string(&wire).unwrap_or_default();
        line.push('\n');
        line
    }

    /// Reads one line.
    ///
    /// # Errors
    /// [`GuardianError::Message`] for a line that is not a message (its text is not shown:
    /// it may hold a credential).
    pub fn from_line(line: &str) -> Result<Self, GuardianError> {
        let wire: Wire = serde_json::from_str(line.trim()).map_err(|error| {
            GuardianError::Message(format!(
                "not a message (line {}, column {})",
                error.line(),
                error.column()
            ))
        })?;
        Ok(match wire {
            Wire::Brief {
                rest_url,
                api_key,
                api_secret,
                prefix,
                symbols,
                parent_pid,
                sweep_timeout_ms,
                request_timeout_ms,
            } => {
                let mut markets = Vec::with_capacity(symbols.len());
                for (base, quote) in symbols {
                    let asset = |name: &str| {
                        AssetName::new(name)
                            .map_err(|_| GuardianError::Message(format!("bad asset {name:?}")))
                    };
                    markets.push(Symbol::spot(asset(&base)?, asset(&quote)?));
                }
                Self::Brief(GuardianBrief {
                    rest_url,
                    credentials: Credentials::new(api_key, api_secret),
                    client_order_id_prefix: prefix,
                    symbols: markets,
                    parent_pid,
                    sweep_timeout: Duration::from_millis(sweep_timeout_ms),
                    request_timeout: Duration::from_millis(request_timeout_ms),
                })
            }
            Wire::ListenKey { key } => Self::ListenKey(ListenKey::new(key)),
            Wire::Clean => Self::Clean,
        })
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;

    fn brief() -> GuardianBrief {
        GuardianBrief {
            rest_url: "http://127.0.0.1:1".to_owned(),
            credentials: Credentials::new("KEY", "TOPSECRET"),
            client_order_id_prefix: "mm-a-".to_owned(),
            symbols: vec![Symbol::spot(
                AssetName::new("HIFI").unwrap(),
                AssetName::new("USDT").unwrap(),
            )],
            parent_pid: 42,
            sweep_timeout: Duration::from_secs(3),
            request_timeout: Duration::from_secs(2),
        }
    }

    #[test]
    fn every_message_reads_back_as_written() {
        let line = ParentMessage::Brief(brief()).to_line();
        assert!(line.ends_with('\n') && line.matches('\n').count() == 1);
        let ParentMessage::Brief(read) = ParentMessage::from_line(&line).unwrap() else {
            panic!("not a brief: {line}");
        };
        assert_eq!(read.rest_url, "http://127.0.0.1:1");
        assert_eq!(read.credentials.secret().reveal_for_handoff(), "TOPSECRET");
        assert_eq!(read.client_order_id_prefix, "mm-a-");
        assert_eq!(read.symbols[0].to_string(), "HIFI/USDT");
        assert_eq!(read.parent_pid, 42);
        assert_eq!(read.sweep_timeout, Duration::from_secs(3));
        let key = ParentMessage::ListenKey(ListenKey::new(Some("LK".to_owned()))).to_line();
        match ParentMessage::from_line(&key).unwrap() {
            ParentMessage::ListenKey(key) => assert_eq!(key.reveal(), Some("LK")),
            other => panic!("{other:?}"),
        }
        let clean = ParentMessage::Clean.to_line();
        assert!(matches!(
            ParentMessage::from_line(&clean).unwrap(),
            ParentMessage::Clean
        ));
    }

    #[test]
    fn no_credential_shows_in_debug_output_or_errors() {
        let shown = format!(
            "{:?} {:?}",
            ParentMessage::Brief(brief()),
            ParentMessage::ListenKey(ListenKey::new(Some("LISTENKEY9".to_owned())))
        );
        assert!(
            !shown.contains("TOPSECRET") && !shown.contains("LISTENKEY9"),
            "{shown}"
        );
        let error = ParentMessage::from_line("{\"brief\":{\"api_secret\":\"TOPSECRET\"}}")
            .unwrap_err()
            .to_string();
        assert!(!error.contains("TOPSECRET"), "{error}");
    }
}
