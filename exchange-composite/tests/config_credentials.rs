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

fn read_file(name: &str, text: &str) -> Result<ExchangeConfig, ConfigError> {
    let path = temp_file(name, text);
    let read = ExchangeConfig::mexc_spot().credentials_from_file(&path);
    std::fs::remove_file(&path).unwrap();
    read
}

#[test]
fn the_file_is_read_as_dotenv_comments_quotes_and_export_included() {
    let config = read_file(
        "creds-dotenv",
        "  # indented comment\nexport MEXC_API_KEY='mx0 KEY' # trailing comment\n\
         OTHER=1\nMEXC_API_SECRET='s3cr3t$VALUE'\nMEXC_API_SECRET=second\n",
    )
    .unwrap();
    let credentials = config.credentials.as_ref().unwrap();
    assert_eq!(credentials.api_key(), "mx0 KEY");
    // Single quotes keep `$` as written; the first line of a name counts.
    assert_eq!(credentials.secret().reveal_for_handoff(), "s3cr3t$VALUE");
    let config = read_file(
        "creds-double",
        "MEXC_API_KEY=\"mx0KEY\"\r\nMEXC_API_SECRET=\"s3cr3t\\\"VALUE\"\r\n",
    )
    .unwrap();
    let credentials = config.credentials.as_ref().unwrap();
    assert_eq!(credentials.api_key(), "mx0KEY");
    assert_eq!(credentials.secret().reveal_for_handoff(), "s3cr3t\"VALUE");
}

#[test]
fn a_malformed_line_is_a_typed_error_without_the_line() {
    for (name, text) in [
        (
            "creds-no-equals",
            "MEXC_API_KEY=mx0KEY\nMEXC_API_SECRET s3cr3tVALUE\n",
        ),
        (
            "creds-unclosed",
            "MEXC_API_KEY=mx0KEY\nMEXC_API_SECRET='s3cr3tVALUE\n",
        ),
    ] {
        let error = read_file(name, text).unwrap_err();
        assert!(
            matches!(error, ConfigError::MalformedFile { .. }),
            "{name}: {error}"
        );
        let shown = format!("{error} {error:?}");
        assert!(!shown.contains("s3cr3tVALUE"), "{shown}");
    }
    // An empty value counts as missing.
    assert!(matches!(
        read_file("creds-empty", "MEXC_API_KEY=mx0KEY\nMEXC_API_SECRET=\n"),
        Err(ConfigError::MissingInFile {
            key: "MEXC_API_SECRET",
            ..
        })
    ));
}
