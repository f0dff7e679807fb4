//! Log setup: JSON lines on Lambda (or with LOG_FORMAT=json), readable text otherwise.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber; the level comes from RUST_LOG (default info).
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = match std::env::var("LOG_FORMAT") {
        Ok(format) => format.eq_ignore_ascii_case("json"),
        Err(_) => std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some(),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let result = if json {
        builder.json().flatten_event(true).with_current_span(true).with_span_list(false).try_init()
    } else {
        builder.compact().try_init()
    };
    // A second init (tests, the CLI after a function) keeps the first subscriber.
    drop(result);
}
