//! URLs as they may appear in logs and `Debug` output: without their query, which can carry a
//! credential (MEXC's private endpoint takes the listen key as `?listenKey=`).

/// `url` with its query replaced by `?<redacted>`.
pub(crate) fn redacted_url(url: &str) -> String {
    match url.split_once('?') {
        Some((base, _)) => format!("{base}?<redacted>"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redacted_url;

    #[test]
    fn the_query_never_shows() {
        assert_eq!(
            redacted_url("wss://wbs-api.mexc.com/ws?listenKey=abc123"),
            "wss://wbs-api.mexc.com/ws?<redacted>"
        );
        assert_eq!(redacted_url("ws://127.0.0.1:1/ws"), "ws://127.0.0.1:1/ws");
    }

    #[test]
    fn config_and_manager_debug_hide_the_listen_key() {
        let config = crate::WebSocketConfig::mexc_private("LISTENKEYSECRET");
        assert!(!format!("{config:?}").contains("LISTENKEYSECRET"));
        let manager = crate::WebSocketManager::new(config);
        assert!(!format!("{manager:?}").contains("LISTENKEYSECRET"));
        assert!(format!("{manager:?}").contains("?<redacted>"));
    }
}
