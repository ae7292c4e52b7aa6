//! End to end at small scale: the real binaries (name server, broker, seckill-service,
//! seckill-web) as child processes, each test with its own ports, MySQL database, Redis key
//! prefix and broker store; a few thousand concurrent gate requests over few users and
//! goods, every answer logged; then seckill-verify's checks as a library — every SPEC §4
//! invariant must hold. The second test `kill -9`s seckill-service mid-run and restarts it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use loadtest::chaos::{self, ChaosStep};
use loadtest::driver::{self, LoadConfig, LoadSummary};
use loadtest::load_log::LoadLogWriter;
use loadtest::stack::{
    Component, DEFAULT_DATABASE_URL, DEFAULT_REDIS_URL, Sandbox, build_stack_binaries,
    target_profile_dir,
};
use loadtest::verify::{self, Report};
use tokio::sync::OnceCell;

/// The seed's goods and stocks (migrations/): 1 → 1000, 2 → 10, 3 → 100.
const SEED_STOCK: [(i64, i64); 3] = [(1, 1000), (2, 10), (3, 100)];

async fn bin_dir() -> PathBuf {
    static BUILT: OnceCell<PathBuf> = OnceCell::const_new();
    BUILT
        .get_or_init(|| async {
            let dir = target_profile_dir().unwrap();
            build_stack_binaries(&dir).await.unwrap();
            dir
        })
        .await
        .clone()
}

async fn sandbox() -> Sandbox {
    let bin_dir = bin_dir().await;
    let work_root = bin_dir.parent().unwrap().join("e2e");
    let database_url =
        std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE_URL.into());
    let redis_url = std::env::var("REDIS_URL").unwrap_or_else(|_| DEFAULT_REDIS_URL.into());
    let sandbox = Sandbox::start(&bin_dir, &work_root, &database_url, &redis_url, Vec::new())
        .await
        .unwrap();
    eprintln!(
        "stack up: web {}, database {}, prefix {}, logs in {}",
        sandbox.stack.spec().web_url(),
        sandbox.database.name,
        sandbox.redis_key_prefix,
        sandbox.stack.spec().log_dir().display()
    );
    sandbox
}

async fn verify_run(sandbox: &Sandbox, log: &Path) -> Report {
    let mut config = sandbox.verify_config(Some(log.to_owned()));
    config.initial_stock = SEED_STOCK.into_iter().collect();
    config.drain_timeout = Duration::from_secs(30);
    let report = verify::verify(&config).await.unwrap();
    eprintln!("{}", report.to_table());
    report
}

/// Every request got a definite answer: a 503 here means the stack could not take orders
/// (e.g. the broker refuses appends when the disk is over 90 % full), not a broken invariant.
fn assert_all_answered(summary: &LoadSummary, sandbox: &Sandbox) {
    let unanswered: u64 = ["UNAVAILABLE", "ERROR"]
        .iter()
        .filter_map(|s| summary.final_statuses.get(*s))
        .sum();
    assert_eq!(
        unanswered,
        0,
        "the gate could not take orders ({summary}); see {}",
        sandbox.stack.spec().log_dir().display()
    );
}

fn orders_by_goods(report: &Report) -> BTreeMap<i64, u64> {
    report
        .goods
        .iter()
        .map(|g| (g.goods_id, g.orders))
        .collect()
}

fn load(sandbox: &Sandbox) -> LoadConfig {
    LoadConfig {
        base_url: sandbox.stack.spec().web_url(),
        goods: vec![1, 2, 3],
        users: 300,
        requests: 3000,
        concurrency: 48,
        max_duration: Duration::from_secs(40),
        retry_for: Duration::from_secs(15),
        seed: 7,
        ..LoadConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flash_sale_keeps_every_invariant() {
    let started = Instant::now();
    let sandbox = sandbox().await;
    let log = sandbox.work_dir.join("load.jsonl");
    let (sink, writer) = LoadLogWriter::create(&log).await.unwrap();
    let summary = driver::run(load(&sandbox), Some(sink)).await.unwrap();
    let records = writer.finish().await.unwrap();
    eprintln!("load: {summary}");
    assert_eq!(summary.requests, 3000);
    assert_eq!(records, summary.attempts);
    assert_all_answered(&summary, &sandbox);

    let report = verify_run(&sandbox, &log).await;
    assert!(
        report.ok,
        "invariants violated; files in {}",
        sandbox.work_dir.display()
    );
    assert!(report.drain.drained);
    // The sale really happened: 300 users over stocks 1000 / 10 / 100.
    let orders = orders_by_goods(&report);
    assert_eq!(orders[&2], 10);
    assert_eq!(orders[&3], 100);
    let users_1 = report.goods.iter().find(|g| g.goods_id == 1).unwrap().users;
    assert!(users_1 > 200, "goods 1 was asked by {users_1} users only");
    assert_eq!(orders[&1], users_1);
    for status in ["QUEUED", "DUPLICATE", "SOLD_OUT"] {
        assert!(
            summary.final_statuses.get(status).copied().unwrap_or(0) > 0,
            "no {status} answer in {summary}"
        );
    }
    sandbox.cleanup(false).await.unwrap();
    eprintln!("test took {:.1} s", started.elapsed().as_secs_f64());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_seckill_service_mid_run_loses_and_duplicates_nothing() {
    let started = Instant::now();
    let mut sandbox = sandbox().await;
    let log = sandbox.work_dir.join("load.jsonl");
    let (sink, writer) = LoadLogWriter::create(&log).await.unwrap();
    // Paced over ~8 s so the kill lands mid-sale, while goods 1 is still selling.
    let config = LoadConfig {
        users: 600,
        rate_per_sec: Some(375.0),
        ..load(&sandbox)
    };
    let steps = [ChaosStep {
        at: Duration::from_secs(3),
        component: Component::Service,
        down_for: Duration::from_secs(1),
    }];
    let outcome = chaos::run(&mut sandbox.stack, config, &steps, Some(sink))
        .await
        .unwrap();
    writer.finish().await.unwrap();
    for event in &outcome.events {
        eprintln!("{:>6.1} s  {}", event.at_secs, event.what);
    }
    eprintln!("load: {}", outcome.load);
    assert_all_answered(&outcome.load, &sandbox);
    assert!(
        outcome.events.iter().all(|e| !e.what.starts_with("note:")),
        "the load ended before the kill"
    );
    assert!(
        outcome
            .events
            .iter()
            .any(|e| e.what.starts_with("kill -9 seckill-service"))
    );

    let report = verify_run(&sandbox, &log).await;
    assert!(
        report.ok,
        "invariants violated; files in {}",
        sandbox.work_dir.display()
    );
    let orders = orders_by_goods(&report);
    assert_eq!(orders[&2], 10);
    assert_eq!(orders[&3], 100);
    sandbox.cleanup(false).await.unwrap();
    eprintln!("test took {:.1} s", started.elapsed().as_secs_f64());
}
