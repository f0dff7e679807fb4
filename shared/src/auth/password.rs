//! argon2id password hashing, off the async threads.

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;

use crate::config::Argon2Cost;
use crate::error::AppError;

/// Hashes and verifies passwords at the configured cost.
#[derive(Clone, Debug)]
pub struct Passwords {
    cost: Argon2Cost,
    /// One permit per core. argon2id is memory-hard: each computation holds its memory cost
    /// (19 MiB by default) and a core, so running more at once than there are cores only
    /// multiplies memory and thrashes caches; a burst of logins queues here instead.
    gate: Arc<Semaphore>,
    /// One permit per computation running or waiting for a core. When none is left the queue
    /// is full: the request is shed at once (503) rather than wait behind work it cannot
    /// overtake, which is what a flood of password requests would otherwise make of it.
    admission: Arc<Semaphore>,
    /// Computations started since the hasher was made.
    started: Arc<AtomicU64>,
    /// Working memory to reuse.
    memory: Arc<Memory>,
    #[cfg(test)]
    probe: Arc<probe::Probe>,
}

impl Passwords {
    /// A hasher at this cost, running as many computations at once as there are cores, with
    /// up to `queue` more waiting.
    pub fn new(cost: Argon2Cost, queue: usize) -> Result<Passwords, argon2::Error> {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Passwords::with_limits(cost, cores, queue)
    }

    /// A hasher at this cost, running at most `concurrency` computations at once and letting
    /// at most `queue` more wait.
    pub fn with_limits(cost: Argon2Cost, concurrency: usize, queue: usize) -> Result<Passwords, argon2::Error> {
        params(cost)?;
        let concurrency = concurrency.max(1);
        Ok(Passwords {
            cost,
            gate: Arc::new(Semaphore::new(concurrency)),
            admission: Arc::new(Semaphore::new(concurrency.saturating_add(queue))),
            started: Arc::default(),
            memory: Arc::default(),
            #[cfg(test)]
            probe: Arc::default(),
        })
    }

    /// How many hashes and verifications have started: what a request cost in argon2.
    pub fn computed(&self) -> u64 {
        self.started.load(Ordering::Relaxed)
    }

    /// The PHC string for a new password, computed on a blocking thread.
    pub fn hash(&self, password: &SecretString) -> impl Future<Output = Result<String, AppError>> + use<> {
        let cost = self.cost;
        let password = password.clone();
        let run = self.run(move |memory| hash_blocking(cost, password.expose_secret(), memory));
        async move { run.await? }
    }

    /// True when `password` matches `phc`, computed on a blocking thread. A malformed stored
    /// hash counts as a mismatch, after the same amount of work as a real check.
    pub fn verify(&self, password: &SecretString, phc: String) -> impl Future<Output = Result<bool, AppError>> + use<> {
        let password = password.clone();
        self.run(move |memory| verify_blocking(password.expose_secret(), &phc, memory))
    }

    /// How many working-memory buffers are kept for reuse (at most one per core).
    pub fn buffers(&self) -> usize {
        self.memory.0.lock().map_or(0, |kept| kept.len())
    }

    /// Runs `work` with a working-memory buffer on a blocking thread once a core is free; 503
    /// at once when the queue for cores is full.
    fn run<T, F>(&self, work: F) -> impl Future<Output = Result<T, AppError>> + use<T, F>
    where
        T: Send + 'static,
        F: FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    {
        // Admission is decided when the call is made, not when its future is first polled.
        let admitted = self.admission.clone().try_acquire_owned();
        let (gate, started, memory) = (self.gate.clone(), self.started.clone(), self.memory.clone());
        #[cfg(test)]
        let probe = self.probe.clone();
        async move {
            let admitted =
                admitted.map_err(|_| AppError::Unavailable("every password hashing slot is busy or queued".into()))?;
            let permit = gate.acquire_owned().await.map_err(AppError::internal("waiting for a hashing slot"))?;
            tokio::task::spawn_blocking(move || {
                // The permits move here so that a request dropped mid-hash frees them only
                // when the computation ends.
                let _permits = (admitted, permit);
                started.fetch_add(1, Ordering::Relaxed);
                #[cfg(test)]
                let _inside = probe.enter();
                let mut buffer = memory.take();
                let result = work(&mut buffer);
                memory.put(buffer);
                result
            })
            .await
            .map_err(AppError::internal("running the hashing task"))
        }
    }
}

fn params(cost: Argon2Cost) -> Result<Params, argon2::Error> {
    Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
}

/// argon2's working memory, kept between computations. Allocating it afresh for each (19 MiB
/// at the default cost) leaves glibc holding the freed buffers in one malloc arena per blocking
/// thread: hundreds of MiB after a burst of logins. A computation takes a buffer while it
/// holds a core's permit, so no more buffers exist than computations may run at once.
#[derive(Debug, Default)]
struct Memory(Mutex<Vec<Vec<Block>>>);

impl Memory {
    fn take(&self) -> Vec<Block> {
        self.0.lock().ok().and_then(|mut kept| kept.pop()).unwrap_or_default()
    }

    fn put(&self, buffer: Vec<Block>) {
        if let Ok(mut kept) = self.0.lock() {
            kept.push(buffer);
        }
    }
}

/// `memory` with at least `params`' blocks. argon2 writes every block before it reads it, so
/// what a buffer held before does not matter.
fn blocks<'a>(memory: &'a mut Vec<Block>, params: &Params) -> &'a mut [Block] {
    if memory.len() < params.block_count() {
        memory.resize(params.block_count(), Block::default());
    }
    &mut memory[..params.block_count()]
}

fn hash_blocking(cost: Argon2Cost, password: &str, memory: &mut Vec<Block>) -> Result<String, AppError> {
    let bug = |what: &str, e: &dyn std::fmt::Display| AppError::bug(format!("{what}: {e}"));
    let params = params(cost).map_err(|e| bug("argon2 parameters", &e))?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let salt = argon2::password_hash::generate_salt();
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    argon
        .hash_password_into_with_memory(password.as_bytes(), &salt, &mut out, blocks(memory, &params))
        .map_err(|e| bug("hashing a password", &e))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| bug("argon2 parameters", &e))?,
        salt: Some(Salt::new(&salt).map_err(|e| bug("a salt", &e))?),
        hash: Some(Output::new(&out).map_err(|e| bug("a hash", &e))?),
    };
    Ok(phc.to_string())
}

fn verify_blocking(password: &str, phc: &str, memory: &mut Vec<Block>) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else { return false };
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else { return false };
    // The algorithm, version and cost come from the stored string, so old hashes keep
    // verifying after the configured cost changes.
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm.as_str()) else { return false };
    let Ok(version) = parsed.version.map_or(Ok(Version::default()), Version::try_from) else { return false };
    let Ok(params) = Params::try_from(&parsed) else { return false };
    let mut out = vec![0u8; expected.len()];
    let argon = Argon2::new(algorithm, version, params.clone());
    let computed =
        argon.hash_password_into_with_memory(password.as_bytes(), salt.as_ref(), &mut out, blocks(memory, &params));
    // Output's equality is constant-time.
    computed.is_ok() && Output::new(&out).is_ok_and(|out| &out == expected)
}

#[cfg(test)]
mod probe {
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Counts computations running now and the most ever at once.
    #[derive(Debug, Default)]
    pub struct Probe {
        now: AtomicUsize,
        pub peak: AtomicUsize,
    }

    /// Leaves the count when dropped.
    pub struct Inside<'a>(&'a Probe);

    impl Probe {
        pub fn enter(&self) -> Inside<'_> {
            let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
            self.peak.fetch_max(now, Ordering::SeqCst);
            Inside(self)
        }
    }

    impl Drop for Inside<'_> {
        fn drop(&mut self) {
            self.0.now.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn no_more_computations_run_at_once_than_permitted() {
        let cost = Argon2Cost { memory_kib: 4096, iterations: 2, parallelism: 1 };
        let hasher = Passwords::with_limits(cost, 2, 100).unwrap();
        let phc = hasher.hash(&"pw".into()).await.unwrap();
        let checks: Vec<_> = (0..12)
            .map(|_| {
                let (hasher, phc) = (hasher.clone(), phc.clone());
                tokio::spawn(async move { hasher.verify(&"pw".into(), phc).await.unwrap() })
            })
            .collect();
        for check in checks {
            assert!(check.await.unwrap());
        }
        let peak = hasher.probe.peak.load(std::sync::atomic::Ordering::SeqCst);
        assert!((1..=2).contains(&peak), "{peak} computations ran at once");
        assert!((1..=2).contains(&hasher.buffers()), "{} buffers kept for 2 at once", hasher.buffers());
    }

    #[tokio::test]
    async fn reused_memory_agrees_with_argon2s_own_hashing_both_ways() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let hasher =
            Passwords::with_limits(Argon2Cost { memory_kib: 256, iterations: 2, parallelism: 1 }, 1, 8).unwrap();
        // Ours, made in a buffer an earlier computation left dirty, verifies with argon2's own.
        hasher.hash(&"warm the buffer".into()).await.unwrap();
        let ours = hasher.hash(&"a password".into()).await.unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default().verify_password(b"a password", &parsed).is_ok());
        // argon2's own, at another cost and with another output length, verifies with ours.
        let params = Params::new(512, 3, 1, Some(24)).unwrap();
        let theirs =
            Argon2::new(Algorithm::Argon2id, Version::V0x13, params).hash_password(b"older").unwrap().to_string();
        assert!(hasher.verify(&"older".into(), theirs.clone()).await.unwrap());
        assert!(!hasher.verify(&"olden".into(), theirs).await.unwrap());
        assert_eq!(hasher.buffers(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_full_queue_sheds_at_once_and_admits_again_when_it_drains() {
        let cost = Argon2Cost { memory_kib: 8192, iterations: 4, parallelism: 1 };
        let hasher = Passwords::with_limits(cost, 1, 2).unwrap();
        let phc = hasher.hash(&"pw".into()).await.unwrap();
        // One running and two waiting fill it; the fourth is refused without waiting.
        let admitted: Vec<_> = (0..3).map(|_| hasher.verify(&"pw".into(), phc.clone())).collect();
        let started = std::time::Instant::now();
        let shed = hasher.verify(&"pw".into(), phc.clone()).await;
        assert!(matches!(shed, Err(AppError::Unavailable(_))), "{shed:?}");
        assert!(started.elapsed() < std::time::Duration::from_millis(50), "shedding does not wait");
        for check in admitted {
            assert!(check.await.unwrap());
        }
        assert!(hasher.verify(&"pw".into(), phc).await.unwrap(), "admitted again once the queue drained");
    }

    const CHEAP: Argon2Cost = Argon2Cost { memory_kib: 64, iterations: 1, parallelism: 1 };

    #[tokio::test]
    async fn hash_verifies_and_rejects_other_passwords() {
        let hasher = Passwords::new(CHEAP, 8).unwrap();
        let phc = hasher.hash(&"correct horse".into()).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{phc}");
        assert!(hasher.verify(&"correct horse".into(), phc.clone()).await.unwrap());
        assert!(!hasher.verify(&"correct horsf".into(), phc.clone()).await.unwrap());
        assert!(!hasher.verify(&"correct horse".into(), "not a phc".into()).await.unwrap());
    }

    #[tokio::test]
    async fn salts_differ_between_hashes() {
        let hasher = Passwords::new(CHEAP, 8).unwrap();
        let a = hasher.hash(&"same".into()).await.unwrap();
        let b = hasher.hash(&"same".into()).await.unwrap();
        assert_ne!(a, b);
    }

    #[tokio::test]
    async fn recommended_cost_is_argon2id_19456_2_1() {
        let hasher = Passwords::new(Argon2Cost::RECOMMENDED, 8).unwrap();
        let phc = hasher.hash(&"a real password".into()).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(hasher.verify(&"a real password".into(), phc).await.unwrap());
    }

    #[test]
    fn impossible_cost_is_refused() {
        assert!(Passwords::new(Argon2Cost { memory_kib: 1, iterations: 0, parallelism: 1 }, 8).is_err());
    }
}
