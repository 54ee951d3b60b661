//! `ExchangeConfig` credentials from a file: parsed, never shown in `Debug` or errors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use exchange_composite::{ConfigError, ExchangeConfig};

fn temp_file(name: &str, text: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("quiesce-{name}-{}", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_credentials_file_is_read_and_the_secret_never_shows() {
    let path = temp_file(
        "creds-ok",
        "# my keys\nMEXC_API_KEY = mx0vglKEY\n\nMEXC_API_SECRET=\"s3cr3tVALUE\"\n",
    );
    let config = ExchangeConfig::mexc_spot()
        .credentials_from_file(&path)
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    let credentials = config.credentials.as_ref().unwrap();
    assert_eq!(credentials.api_key(), "mx0vglKEY");
    let shown = format!("{config:?}");
    assert!(
        shown.contains("mx0vglKEY") && !shown.contains("s3cr3tVALUE"),
        "{shown}"
    );
}

#[test]
fn a_missing_line_or_file_is_a_typed_error_without_the_contents() {
    let path = temp_file(
        "creds-partial",
        "MEXC_API_KEY=mx0vglKEY\nSOMETHING=s3cr3tVALUE\n",
    );
    let error = ExchangeConfig::mexc_spot()
        .credentials_from_file(&path)
        .unwrap_err();
    std::fs::remove_file(&path).unwrap();
    assert!(
        matches!(
            error,
            ConfigError::MissingInFile {
                key: "MEXC_API_SECRET",
                ..
            }
        ),
        "{error}"
    );
    assert!(!error.to_string().contains("s3cr3tVALUE"));
    let missing = std::env::temp_dir().join("quiesce-no-such-credentials-file");
    assert!(matches!(
        ExchangeConfig::mexc_spot().credentials_from_file(&missing),
        Err(ConfigError::ReadFile { .. })
    ));
}
