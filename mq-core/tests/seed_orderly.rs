//! Seed 4.6: orders 111 and 222, three steps each, sent with the order number as sharding key,
//! come out in per-order order with two orderly consumer instances — even when step 2 of
//! order 111 fails twice (the queue pauses and retries the same message, never skipping).
#![allow(clippy::unwrap_used)]

mod client_support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use client_support::{TestCluster, unique};
use mq_core::client::{Message, OrderlyResult, Producer, orderly_listener_fn};

type Log = Arc<Mutex<Vec<(String, String, i32, Instant)>>>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_order_steps_stay_in_order_through_failures() {
    let tc = TestCluster::start().await;
    let topic = unique("Orderly");
    let group = unique("orderly_cg");
    tc.create_topic(&topic, 4).await;

    let log: Log = Arc::new(Mutex::new(Vec::new()));
    let failures = Arc::new(Mutex::new(0));
    let make = |log: Log, failures: Arc<Mutex<i32>>| {
        orderly_listener_fn(move |msgs| {
            let log = Arc::clone(&log);
            let failures = Arc::clone(&failures);
            async move {
                for m in msgs {
                    let order = m.keys[0].clone();
                    let step = String::from_utf8(m.body.to_vec()).unwrap();
                    log.lock().unwrap().push((
                        order.clone(),
                        step.clone(),
                        m.reconsume_times,
                        Instant::now(),
                    ));
                    if order == "111" && step == "step2" {
                        let mut f = failures.lock().unwrap();
                        if *f < 2 {
                            *f += 1;
                            return OrderlyResult::SuspendCurrentQueueAMoment;
                        }
                    }
                }
                OrderlyResult::Success
            }
        })
    };
    let c1 = tc
        .consumer(&group)
        .subscribe(&topic, "*")
        .suspend_current_queue_time(Duration::from_millis(300))
        .start_orderly(make(Arc::clone(&log), Arc::clone(&failures)))
        .await
        .unwrap();
    let c2 = tc
        .consumer(&group)
        .subscribe(&topic, "*")
        .suspend_current_queue_time(Duration::from_millis(300))
        .start_orderly(make(Arc::clone(&log), Arc::clone(&failures)))
        .await
        .unwrap();

    let producer = Producer::builder(unique("orderly_pg"))
        .namesrv_addr(tc.namesrv())
        .start()
        .await
        .unwrap();
    let mut queues = BTreeMap::new();
    for step in ["step1", "step2", "step3"] {
        for order in ["111", "222"] {
            let r = producer
                .send_orderly(Message::new(&topic, step).with_key(order), order)
                .await
                .unwrap();
            queues.entry(order).or_insert(r.queue.clone());
            assert_eq!(queues[order], r.queue, "one queue per order");
        }
    }

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let done = log
            .lock()
            .unwrap()
            .iter()
            .filter(|(o, s, _, _)| o == "111" && s == "step3")
            .count();
        if done >= 1
            && log
                .lock()
                .unwrap()
                .iter()
                .any(|(o, s, _, _)| o == "222" && s == "step3")
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "orders incomplete: {:?}",
            log.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let log = log.lock().unwrap().clone();
    for order in ["111", "222"] {
        let steps: Vec<&str> = log
            .iter()
            .filter(|e| e.0 == order)
            .map(|e| e.1.as_str())
            .collect();
        let expected: &[&str] = if order == "111" {
            &["step1", "step2", "step2", "step2", "step3"]
        } else {
            &["step1", "step2", "step3"]
        };
        assert_eq!(steps, expected, "order {order}");
    }
    // The retries of 111/step2 waited the pause and count as reconsumes.
    let retries: Vec<_> = log
        .iter()
        .filter(|e| e.0 == "111" && e.1 == "step2")
        .collect();
    assert_eq!(
        retries.iter().map(|e| e.2).collect::<Vec<_>>(),
        vec![0, 1, 2]
    );
    assert!(retries[1].3 - retries[0].3 >= Duration::from_millis(250));
    c1.shutdown().await;
    c2.shutdown().await;
}
