//! One webhook POST over [`crate::egress`]: the resolver's checks, no redirects, the timeout.
//! The receiver's body is read (a bounded part) and dropped.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderName, Method, header};

use crate::egress::client::{Egress, EgressSetupError};
use crate::egress::resolver::SharedResolver;
use crate::egress::target::Target;

/// Most of a receiver's answer read before the connection is dropped.
const ANSWER_READ_MAX: usize = 64 * 1024;

/// What one attempt came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// The receiver's status, when it answered.
    pub status: Option<u16>,
    /// Why it did not answer, or `http_status` for an answer other than 2xx: `dns_failed`,
    /// `dns_refused`, `connect_failed`, `tls_failed`, `timeout`, `invalid_url`, `http_status`.
    pub error: Option<&'static str>,
    /// Seconds the receiver asked to wait (`Retry-After` on a 429 or 503).
    pub retry_after: Option<u64>,
    /// How long the attempt took.
    pub duration: Duration,
}

impl Attempt {
    /// A 2xx answer.
    pub fn delivered(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// Sends webhooks.
#[derive(Clone, Debug)]
pub struct Sender {
    egress: Egress,
}

impl Sender {
    /// A sender trusting the system's roots.
    pub fn new(resolver: SharedResolver, timeout: Duration, allow_local: bool) -> Result<Sender, EgressSetupError> {
        Ok(Sender { egress: Egress::new(resolver, timeout, allow_local)? })
    }

    /// POSTs `body` to the target with `headers`; never fails, the outcome says what happened.
    pub async fn post(&self, target: &Target, headers: &[(&'static str, String)], body: Bytes) -> Attempt {
        let started = Instant::now();
        let mut all = vec![
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (header::USER_AGENT, "identity-api-webhooks/1".to_owned()),
        ];
        all.extend(headers.iter().map(|(name, value)| (HeaderName::from_static(name), value.clone())));
        let outcome = self.egress.send(Method::POST, target, &all, body, ANSWER_READ_MAX).await;
        let (status, error, retry_after) = match outcome {
            Err(failure) => (None, Some(failure.class()), None),
            Ok(answer) => {
                let retry_after = answer
                    .headers
                    .get(header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok());
                let error = (!(200..300).contains(&answer.status)).then_some("http_status");
                (Some(answer.status), error, retry_after)
            }
        };
        Attempt { status, error, retry_after, duration: started.elapsed() }
    }
}
