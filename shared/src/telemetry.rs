//! Log setup: JSON lines on Lambda (or with LOG_FORMAT=json), readable text otherwise.

use std::io::IsTerminal;

use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Installs the global subscriber; the level comes from RUST_LOG (default info). Lines are
/// formatted on the request's thread and written to stderr by a thread of their own, so a
/// request never waits on the write; the answer flushes what is queued when it is dropped
/// (hold it until the process ends). None when a subscriber was installed already.
#[must_use = "dropping the guard at once stops the writer"]
pub fn init() -> Option<WorkerGuard> {
    let filter = filter(std::env::var("RUST_LOG").ok().as_deref());
    let json = match std::env::var("LOG_FORMAT") {
        Ok(format) => format.eq_ignore_ascii_case("json"),
        Err(_) => std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some(),
    };
    // The services' entry points are debug spans: at RUST_LOG=identity_shared=debug each one's
    // close says how long it took (and its error, if it failed). At info neither they nor a
    // close line for each request's span are written.
    let steps = filter.would_enable("identity_shared::services", &tracing::Level::DEBUG);
    // Lossless: when the queue is full the request waits rather than a line being dropped.
    let (writer, guard) = NonBlockingBuilder::default().lossy(false).finish(std::io::stderr());
    let lines = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(std::io::stderr().is_terminal())
        .with_span_events(if steps { FmtSpan::CLOSE } else { FmtSpan::NONE });
    let registry = tracing_subscriber::registry().with(filter);
    let result = if json {
        registry.with(lines.json().flatten_event(true).with_current_span(true).with_span_list(false)).try_init()
    } else {
        registry.with(lines.compact()).try_init()
    };
    // A second init (tests, the CLI after a function) keeps the first subscriber.
    result.ok().map(|()| guard)
}

/// RUST_LOG read as `target=level` directives (`warn`, `info,identity_shared=debug`); unset,
/// empty or unreadable means info. Span and field filters are not supported: the per-target
/// filter needs no regular-expression engine in every function binary.
pub fn filter(spec: Option<&str>) -> Targets {
    let info = || Targets::new().with_default(LevelFilter::INFO);
    match spec.map(str::trim) {
        None | Some("") => info(),
        Some(spec) => spec.parse().unwrap_or_else(|_| info()),
    }
}

#[cfg(test)]
mod tests {
    use tracing::Level;

    use super::filter;

    #[test]
    fn rust_log_sets_levels_per_target() {
        let f = filter(Some("warn,identity_shared=debug"));
        assert!(f.would_enable("identity_shared::services", &Level::DEBUG));
        assert!(!f.would_enable("tokio_postgres", &Level::INFO));
        assert!(f.would_enable("tokio_postgres", &Level::WARN));
        for unset in [None, Some(""), Some("  "), Some("x[{=")] {
            let f = filter(unset);
            assert!(f.would_enable("any", &Level::INFO) && !f.would_enable("any", &Level::DEBUG), "{unset:?}");
        }
    }
}
