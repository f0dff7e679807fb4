//! Looking up a claim's TXT record now, with hickory-resolver: through the nameserver the
//! settings name (`DOMAIN_DNS_SERVER`; tests run their own) or the system's, with no cache, so
//! that a record published a moment ago is what the next check sees.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_resolver::config::{NameServerConfigGroup, ResolveHosts, ResolverConfig};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::ProtoErrorKind;
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::{ResolveError, ResolveErrorKind, TokioResolver};

use super::proof::TxtAnswer;

/// A TXT resolver built once per process.
#[derive(Clone)]
pub struct TxtResolver {
    resolver: TokioResolver,
    /// The whole lookup's bound, whatever the resolver retries (UDP, then TCP) inside it.
    timeout: Duration,
}

impl std::fmt::Debug for TxtResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TxtResolver").finish_non_exhaustive()
    }
}

impl TxtResolver {
    /// Asks `server` (UDP, then TCP for a truncated answer), or the system's nameservers
    /// (/etc/resolv.conf) when None; each lookup gives up after `timeout`, all its tries in.
    pub fn new(server: Option<SocketAddr>, timeout: Duration) -> Result<TxtResolver, ResolveError> {
        let mut builder = match server {
            Some(addr) => {
                let group = NameServerConfigGroup::from_ips_clear(&[addr.ip()], addr.port(), true);
                TokioResolver::builder_with_config(
                    ResolverConfig::from_parts(None, vec![], group),
                    TokioConnectionProvider::default(),
                )
            }
            None => TokioResolver::builder_tokio()?,
        };
        let options = builder.options_mut();
        options.timeout = timeout;
        options.attempts = 1;
        // Every check asks again: a cached "no record" would hide one just published.
        options.cache_size = 0;
        options.use_hosts_file = ResolveHosts::Never;
        // The challenge name is absolute: never tried under a search domain.
        options.ndots = 0;
        Ok(TxtResolver { resolver: builder.build(), timeout })
    }

    /// The TXT records at `name` (an absolute name, no trailing dot needed).
    pub async fn txt(&self, name: &str) -> TxtAnswer {
        let lookup = self.resolver.txt_lookup(format!("{name}."));
        let Ok(answer) = tokio::time::timeout(self.timeout, lookup).await else {
            return TxtAnswer::Failed("timed out".into());
        };
        match answer {
            Ok(found) => {
                let records: Vec<String> =
                    found.iter().map(|txt| String::from_utf8_lossy(&txt.txt_data().concat()).into_owned()).collect();
                if records.is_empty() { TxtAnswer::NoRecords } else { TxtAnswer::Records(records) }
            }
            Err(err) => classify(&err),
        }
    }
}

/// What a failed lookup means for a claim.
fn classify(err: &ResolveError) -> TxtAnswer {
    let ResolveErrorKind::Proto(proto) = err.kind() else {
        return TxtAnswer::Failed(err.to_string());
    };
    match proto.kind() {
        ProtoErrorKind::NoRecordsFound { response_code: ResponseCode::NXDomain, .. } => TxtAnswer::NoSuchName,
        ProtoErrorKind::NoRecordsFound { response_code: ResponseCode::NoError, .. } => TxtAnswer::NoRecords,
        ProtoErrorKind::NoRecordsFound { response_code, .. } => TxtAnswer::Failed(response_code.to_string()),
        ProtoErrorKind::Timeout => TxtAnswer::Failed("timed out".into()),
        _ => TxtAnswer::Failed(proto.to_string()),
    }
}
