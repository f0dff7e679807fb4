//! CPU time the server and PostgreSQL spend on a load, per request: where a read's cost goes
//! on a machine whose cores they share with the load generator.

use anyhow::Context;

/// Clock ticks per second of /proc's CPU times (USER_HZ, 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

/// CPU seconds used so far by the server and by PostgreSQL (the postmaster and its children).
#[derive(Clone, Copy, Debug)]
pub struct Usage {
    server: f64,
    database: f64,
}

impl Usage {
    /// Now, for the server process `server` and the PostgreSQL whose postmaster is `postmaster`.
    pub fn now(server: u32, postmaster: u32) -> anyhow::Result<Usage> {
        let mut database = 0.0;
        for entry in std::fs::read_dir("/proc")? {
            let Some(pid) = entry?.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
            // A backend may exit between the listing and the read; it no longer counts.
            let Some((parent, seconds)) = stat(pid) else { continue };
            if pid == postmaster || parent == postmaster {
                database += seconds;
            }
        }
        let (_, server) = stat(server).context("the server has exited")?;
        Ok(Usage { server, database })
    }

    /// Microseconds per request of each since `before`, over `requests` requests.
    pub fn per_request_since(&self, before: &Usage, requests: f64) -> (f64, f64) {
        let per = |now: f64, then: f64| if requests > 0.0 { (now - then) * 1e6 / requests } else { 0.0 };
        (per(self.server, before.server), per(self.database, before.database))
    }
}

/// A process's parent and its user plus system CPU seconds, from /proc/<pid>/stat.
fn stat(pid: u32) -> Option<(u32, f64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces; the fields after it are fixed.
    let fields: Vec<&str> = text.rsplit_once(')')?.1.split_whitespace().collect();
    let parent = fields.get(1)?.parse().ok()?;
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some((parent, ticks / TICKS_PER_SECOND))
}
