//! Access tokens whose signature and claims were verified, kept by a SHA-256 of the whole token
//! until they expire, so that a later request with the same token skips the signature check.
//! Only the signature's work is saved: the session, key or client behind a token is still
//! checked in the database on every request, so revocation stays immediate. A token that
//! differs in any byte has another hash and is verified in full; failures are never kept.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_lc_rs::digest::{SHA256, digest};
use moka::Expiry;
use moka::sync::Cache;

/// What is kept of a verified token: anything that knows when the token expires.
pub trait Expiring: Clone + Send + Sync + 'static {
    /// The token's `exp` (Unix seconds).
    fn exp(&self) -> u64;
}

/// The hash a token is kept by.
pub type TokenKey = [u8; 32];

/// The bounded cache of verified tokens (none when its size is 0).
pub struct VerifiedTokens<V> {
    cache: Option<Cache<TokenKey, V>>,
    leeway: u64,
}

/// Each entry lives until its token expires (with the leeway the verifier allows).
struct UntilExpiry {
    leeway: u64,
}

impl<V: Expiring> Expiry<TokenKey, V> for UntilExpiry {
    fn expire_after_create(&self, _key: &TokenKey, value: &V, _created_at: Instant) -> Option<Duration> {
        Some(Duration::from_secs((value.exp() + self.leeway).saturating_sub(now())))
    }
}

/// Unix seconds now.
fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

impl<V: Expiring> VerifiedTokens<V> {
    /// A cache of at most `entries` tokens (0: none kept), honouring `leeway` seconds past `exp`.
    pub fn new(entries: u64, leeway: u64) -> VerifiedTokens<V> {
        let cache =
            (entries > 0).then(|| Cache::builder().max_capacity(entries).expire_after(UntilExpiry { leeway }).build());
        VerifiedTokens { cache, leeway }
    }

    /// The key of `token`, if tokens are kept.
    pub fn key(&self, token: &str) -> Option<TokenKey> {
        self.cache.as_ref().map(|_| {
            let mut key = [0u8; 32];
            key.copy_from_slice(digest(&SHA256, token.as_bytes()).as_ref());
            key
        })
    }

    /// The claims kept for `key`, while the token has not expired.
    pub fn get(&self, key: Option<&TokenKey>) -> Option<V> {
        let found = self.cache.as_ref()?.get(key?)?;
        // The cache's own expiry is lazy about the last second: the verifier's rule decides.
        (found.exp() + self.leeway >= now()).then_some(found)
    }

    /// Keeps `verified` under `key`.
    pub fn insert(&self, key: Option<TokenKey>, verified: V) {
        if let (Some(cache), Some(key)) = (&self.cache, key) {
            cache.insert(key, verified);
        }
    }

    /// How many tokens are kept now (after pending evictions).
    pub fn len(&self) -> u64 {
        self.cache.as_ref().map_or(0, |c| {
            c.run_pending_tasks();
            c.entry_count()
        })
    }

    /// Whether none is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
