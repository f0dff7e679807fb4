//! Telling the sender there is work, after the commit that made it. A request that queues a
//! delivery marks its task (the audit log's statement says how many it queued); the request
//! layer, once the handler has answered with success and before the answer leaves (on Lambda
//! nothing runs after it), hands off: an asynchronous invoke of the sender function, or a
//! wake-up of the sender inside `identity serve`. Nothing is lost when a hand-off is: the
//! sender's schedule sweeps every minute.

use std::cell::Cell;
use std::future::Future;
use std::sync::{Arc, OnceLock};

use tokio::sync::Notify;

tokio::task_local! {
    static QUEUED: Cell<bool>;
}

/// Notes that the running request queued a delivery (outside a request scope: nothing).
pub fn note_queued() {
    let _ = QUEUED.try_with(|queued| queued.set(true));
}

/// Runs a request's future and says whether it queued a delivery.
pub async fn scope<F: Future>(request: F) -> (F::Output, bool) {
    QUEUED
        .scope(Cell::new(false), async move {
            let output = request.await;
            (output, QUEUED.with(Cell::get))
        })
        .await
}

/// This process's hand-off, when it has a sender to wake.
static INSTALLED: OnceLock<Handoff> = OnceLock::new();

/// Sets where this process hands off; the first call wins.
pub fn install(handoff: Handoff) {
    let _ = INSTALLED.set(handoff);
}

/// Wakes this process's sender, if it has one.
pub async fn wake() {
    if let Some(handoff) = INSTALLED.get() {
        handoff.wake().await;
    }
}

/// Where a hand-off goes.
#[derive(Clone, Debug, Default)]
pub enum Handoff {
    /// Nowhere: the schedule finds the work (a function without a sender to wake).
    #[default]
    Schedule,
    /// A sender in this process (`identity serve`), woken at once.
    InProcess(Arc<Notify>),
    /// The sender function, invoked asynchronously (Lambda queues the event and answers 202).
    #[cfg(feature = "handoff")]
    Invoke {
        /// The Lambda client.
        client: aws_sdk_lambda::Client,
        /// The sender function's name or ARN.
        function: String,
    },
}

/// The longest a hand-off may hold up an answer; past it the schedule finds the work.
#[cfg(feature = "handoff")]
const INVOKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

/// After a failed invoke, requests stop trying for this long (the schedule sends meanwhile):
/// an unreachable Lambda API must not add a second to every write.
#[cfg(feature = "handoff")]
const PAUSE_AFTER_FAILURE_SECS: u64 = 60;

/// When the last invoke failed (Unix seconds; 0: never).
#[cfg(feature = "handoff")]
static LAST_FAILURE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

#[cfg(feature = "handoff")]
fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl Handoff {
    /// Wakes the sender; a failure is logged, never the request's.
    pub async fn wake(&self) {
        match self {
            Handoff::Schedule => {}
            Handoff::InProcess(notify) => notify.notify_one(),
            #[cfg(feature = "handoff")]
            Handoff::Invoke { client, function } => {
                use std::sync::atomic::Ordering;

                use aws_sdk_lambda::types::InvocationType;
                if now_secs().saturating_sub(LAST_FAILURE.load(Ordering::Relaxed)) < PAUSE_AFTER_FAILURE_SECS {
                    return;
                }
                // The sender reads no event; a JSON one says where the run came from in its logs.
                let payload = aws_sdk_lambda::primitives::Blob::new(br#"{"source":"identity-api.handoff"}"#.as_slice());
                let invoke = client
                    .invoke()
                    .function_name(function)
                    .invocation_type(InvocationType::Event)
                    .payload(payload)
                    .send();
                let failed = match tokio::time::timeout(INVOKE_TIMEOUT, invoke).await {
                    Ok(Ok(_)) => None,
                    Ok(Err(error)) => Some(aws_sdk_lambda::error::DisplayErrorContext(error).to_string()),
                    Err(_) => Some("timed out".to_owned()),
                };
                if let Some(error) = failed {
                    LAST_FAILURE.store(now_secs(), Ordering::Relaxed);
                    tracing::warn!(
                        error = %error,
                        "handing off to the webhook sender failed; its schedule sends, and requests stop trying for a minute"
                    );
                }
            }
        }
    }

    /// An asynchronous invoke of `function` with the function's own credentials, at `endpoint`
    /// (`AWS_ENDPOINT_URL_LAMBDA`) when set.
    #[cfg(feature = "handoff")]
    pub fn invoke(aws: &crate::aws::AwsEnv, function: String, endpoint: Option<String>) -> Handoff {
        use aws_sdk_lambda::config::retry::RetryConfig;
        use aws_sdk_lambda::config::timeout::TimeoutConfig;
        use aws_sdk_lambda::config::{BehaviorVersion, Region};
        let mut builder = aws_sdk_lambda::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(aws.region_or_default()))
            .timeout_config(TimeoutConfig::builder().operation_timeout(INVOKE_TIMEOUT).build())
            .retry_config(RetryConfig::standard().with_max_attempts(1));
        if let Some(credentials) = aws.credentials() {
            builder = builder.credentials_provider(credentials);
        }
        if let Some(endpoint) = endpoint {
            builder = builder.endpoint_url(endpoint);
        }
        Handoff::Invoke { client: aws_sdk_lambda::Client::from_conf(builder.build()), function }
    }
}
