//! PostgreSQL stopped in the middle of a write load and started again: only 503s while it is
//! down, success again at once, and every write that was answered 2xx is in the database.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::http::Method;
use identity_testkit::cluster::Cluster;
use identity_testkit::{TestApp, TestDatabase};
use serde_json::json;
use tokio::sync::Mutex;

use crate::{PASSWORD, figure};

const WRITERS: usize = 6;
const OUTAGES: usize = 3;

/// What the writers saw: each request's name, status and when it was answered.
#[derive(Default)]
struct Log {
    answers: Vec<(String, u16, Instant)>,
    acknowledged: Vec<(String, uuid::Uuid)>,
}

async fn writer(app: Arc<TestApp>, token: String, n: usize, running: Arc<AtomicBool>, log: Arc<Mutex<Log>>) {
    let mut i = 0;
    while running.load(Ordering::Relaxed) {
        let name = format!("load {n}-{i}");
        let res = app.call(Method::POST, "/orgs", Some(json!({"name": name})), Some(&token)).await;
        let mut log = log.lock().await;
        log.answers.push((name.clone(), res.status.as_u16(), Instant::now()));
        if res.status == 201 {
            log.acknowledged.push((name, res.json["id"].as_str().unwrap().parse().unwrap()));
        }
        drop(log);
        i += 1;
        if res.status == 503 {
            // As a client honouring Retry-After would, but briefly, to see recovery closely.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_stopped_mid_load_loses_no_acknowledged_write() {
    let cluster = Cluster::start().await;
    let db = TestDatabase::create_on(&cluster.url()).await;
    let app = Arc::new(TestApp::on(
        identity_cli::routes(),
        db,
        // One account writes thousands of organizations here: its quota is off.
        &[("DATABASE_TIMEOUT_MS", "1000"), ("DATABASE_POOL_SIZE", "8"), ("QUOTA_ORGS_PER_USER", "0")],
    ));
    let (token, _) = app.signed_in("ada@example.com", PASSWORD).await;
    let running = Arc::new(AtomicBool::new(true));
    let log = Arc::new(Mutex::new(Log::default()));
    let writers: Vec<_> = (0..WRITERS)
        .map(|n| tokio::spawn(writer(app.clone(), token.clone(), n, running.clone(), log.clone())))
        .collect();

    // (stopped, resume began, resumed) of each outage.
    let mut outages = vec![];
    for _ in 0..OUTAGES {
        tokio::time::sleep(Duration::from_millis(700)).await;
        cluster.stop().await;
        let stopped = Instant::now();
        tokio::time::sleep(Duration::from_millis(1000)).await;
        let resume_began = Instant::now();
        cluster.resume().await;
        outages.push((stopped, resume_began, Instant::now()));
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    running.store(false, Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }

    let log = log.lock().await;
    let mut by_status: BTreeMap<u16, usize> = BTreeMap::new();
    for (_, status, _) in &log.answers {
        *by_status.entry(*status).or_default() += 1;
    }
    let unexpected: Vec<_> = log.answers.iter().filter(|(_, s, _)| ![201, 503].contains(s)).collect();
    assert!(unexpected.is_empty(), "only 201 and 503: {unexpected:?}");
    let mut slowest_recovery = Duration::ZERO;
    for (stopped, resume_began, resumed) in &outages {
        // Between the server being gone and being back, nothing but 503.
        let during: Vec<_> =
            log.answers.iter().filter(|(_, _, at)| at > stopped && at < resume_began).map(|(_, s, _)| *s).collect();
        assert!(!during.is_empty() && during.iter().all(|s| *s == 503), "{during:?}");
        let first_success = log
            .answers
            .iter()
            .filter(|(_, s, at)| *s == 201 && at > resumed)
            .map(|(_, _, at)| at.duration_since(*resumed))
            .min()
            .expect("writes succeed again");
        assert!(first_success < Duration::from_secs(1), "recovered after {first_success:?}");
        slowest_recovery = slowest_recovery.max(first_success);
    }

    let ids: Vec<uuid::Uuid> = log.acknowledged.iter().map(|(_, id)| *id).collect();
    let client = identity_shared::db::client(app.state.pool()).await.unwrap();
    let found: i64 =
        client.query_one("SELECT count(*) FROM organizations WHERE id = ANY($1)", &[&ids]).await.unwrap().get(0);
    let refused: Vec<String> = log.answers.iter().filter(|(_, s, _)| *s == 503).map(|(n, _, _)| n.clone()).collect();
    let landed: i64 =
        client.query_one("SELECT count(*) FROM organizations WHERE name = ANY($1)", &[&refused]).await.unwrap().get(0);
    let lost = ids.len() as i64 - found;
    figure(format!(
        "PostgreSQL stopped and started {OUTAGES} times under {WRITERS} writers: {} writes, {} acknowledged, {lost} of them lost; {} answered 503 ({landed} of those had committed as the server stopped); writes succeeded again at most {} ms after it was back",
        log.answers.len(),
        ids.len(),
        refused.len(),
        slowest_recovery.as_millis()
    ));
    assert_eq!(lost, 0, "every acknowledged write is in the database");
    assert!(ids.len() > 10 && by_status.get(&503).copied().unwrap_or(0) > 0, "{by_status:?}");
}
