//! The tests' DNS server (scripts/lib/dns_server.py, on dnslib) that scripts/test starts:
//! where it is, and what it answers for a name, which each test writes for names of its own.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;

/// The server's `address:port`, from DNS_TEST_SERVER.
pub fn server() -> String {
    std::env::var("DNS_TEST_SERVER")
        .expect("set DNS_TEST_SERVER to a running DNS test server (scripts/test starts one)")
}

/// Where the server reads its answers, from DNS_TEST_RECORDS.
fn records() -> PathBuf {
    std::env::var("DNS_TEST_RECORDS")
        .expect("set DNS_TEST_RECORDS to the DNS test server's records folder (scripts/test starts one)")
        .into()
}

/// What the server answers for a name.
#[derive(Clone, Debug)]
pub enum Answer {
    /// TXT records, each a list of character-strings.
    Txt(Vec<Vec<String>>),
    /// The name exists, with no TXT record.
    Empty,
    /// The name does not exist.
    NxDomain,
    /// The server fails.
    ServFail,
    /// An answer of no records after this long (longer than the resolver waits: a timeout).
    Slow(Duration),
}

impl Answer {
    /// One TXT record of one string.
    pub fn txt(value: &str) -> Answer {
        Answer::Txt(vec![vec![value.to_owned()]])
    }
}

/// Makes the server answer `answer` for `name` (any case, no trailing dot) from now on.
pub fn publish(name: &str, answer: Answer) {
    let spec = match answer {
        Answer::Txt(records) => json!({"rcode": "NOERROR", "txt": records}),
        Answer::Empty => json!({"rcode": "NOERROR", "txt": []}),
        Answer::NxDomain => json!({"rcode": "NXDOMAIN"}),
        Answer::ServFail => json!({"rcode": "SERVFAIL"}),
        Answer::Slow(wait) => json!({"rcode": "NOERROR", "txt": [], "delay_ms": wait.as_millis() as u64}),
    };
    let dir = records();
    let file = dir.join(format!("{}.json", name.trim_end_matches('.').to_ascii_lowercase()));
    // Written aside and renamed, so the server never reads half a file.
    let aside = dir.join(format!(".{}.tmp", uuid::Uuid::now_v7().simple()));
    std::fs::write(&aside, spec.to_string()).expect("writing a DNS answer");
    std::fs::rename(&aside, &file).expect("publishing a DNS answer");
}

/// A domain no other test uses, under example.com.
pub fn unique_domain(label: &str) -> String {
    format!("{label}-{}.example.com", uuid::Uuid::now_v7().simple())
}
