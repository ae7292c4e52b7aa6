//! `mq-bench consume --takeover`: the time from one of two clustering instances failing to the
//! other owning every queue, and to its first message from a queue it took over.
//!
//! The failing instance is a child process (`mq-bench takeover-victim`, hidden), so its failure
//! is a real one: SIGKILL (a crash: the kernel closes its sockets, the broker sees them close)
//! or SIGSTOP (a hang: sockets stay open, heartbeats stop, only the broker's client expiry
//! notices). The topic is fresh and idle; right after the fault one probe message is sent to
//! each queue the victim owned, so the first message the survivor consumes comes from one.
//! The fault comes a few ms after the victim's first heartbeat, so a hang is timed near its
//! worst case: about the broker's expiry, not the expiry less part of a heartbeat period.

use std::collections::BTreeSet;
use std::process::Stdio;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::Context;
use mq_core::client::{ConsumeFrom, ConsumeResult, Message, PushConsumer, PushConsumerBuilder};
use mq_core::client::{MessageListener, listener_fn};
use rustix::process::{Pid, Signal, kill_process};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::watch;

use crate::produce::Target;
use crate::report::BenchLine;

/// Both instances heartbeat this often: the hang scenario's expiry is measured against it, and
/// a survivor silent for longer than a short `--local` expiry would be expired as well.
const HEARTBEAT: Duration = Duration::from_secs(1);
/// How often the parent looks at the survivor's queues (the figures' resolution).
const POLL: Duration = Duration::from_millis(1);
/// The longest the two instances may take to split the queues.
const SETTLE_LIMIT: Duration = Duration::from_secs(60);

/// Options of the hidden `mq-bench takeover-victim`: the instance that is made to fail.
#[derive(Debug, clap::Args)]
pub struct VictimArgs {
    #[arg(long)]
    namesrv: String,
    #[arg(long)]
    topic: String,
    #[arg(long)]
    group: String,
}

/// How the victim fails.
#[derive(Debug, Clone)]
pub enum Fault {
    /// SIGKILL: a crash.
    Kill,
    /// SIGSTOP: a hang that keeps its sockets open; `expiry` names the broker's client expiry
    /// for the scenario (the broker applies it, this only labels and bounds the wait).
    Stop { expiry: String, limit: Duration },
}

impl Fault {
    fn signal(&self) -> Signal {
        match self {
            Self::Kill => Signal::KILL,
            Self::Stop { .. } => Signal::STOP,
        }
    }

    fn what(&self) -> String {
        match self {
            Self::Kill => "is SIGKILLed (crash)".to_owned(),
            Self::Stop { expiry, .. } => {
                let beat = HEARTBEAT.as_secs_f64();
                format!("is SIGSTOPped (hang, sockets open; {expiry}, heartbeat {beat} s)")
            }
        }
    }

    fn limit(&self) -> Duration {
        match self {
            Self::Kill => Duration::from_secs(60),
            Self::Stop { limit, .. } => *limit,
        }
    }
}

/// The same settings for both instances, so the allocation and timers match.
fn instance(namesrv: &str, topic: &str, group: &str) -> PushConsumerBuilder {
    PushConsumer::builder(group)
        .namesrv_addr(namesrv)
        .subscribe(topic, "*")
        .consume_from(ConsumeFrom::FirstOffset)
        .heartbeat_interval(HEARTBEAT)
}

fn queue_ids(c: &PushConsumer, topic: &str) -> BTreeSet<i32> {
    c.assigned_queues()
        .into_iter()
        .filter(|q| q.topic == topic)
        .map(|q| q.queue_id)
        .collect()
}

/// Runs the victim: consumes, and prints `owned <ids>` whenever its queues change, until its
/// stdin closes (the parent is gone) or a signal ends it.
pub fn victim(args: &VictimArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let consumer = instance(&args.namesrv, &args.topic, &args.group)
            .start(listener_fn(|_| async { ConsumeResult::Success }))
            .await?;
        let parent_gone = async {
            let mut stdin = tokio::io::stdin();
            let mut buf = [0u8; 64];
            while matches!(stdin.read(&mut buf).await, Ok(n) if n > 0) {}
        };
        tokio::pin!(parent_gone);
        let mut reported = None;
        loop {
            let owned = queue_ids(&consumer, &args.topic);
            if reported.as_ref() != Some(&owned) {
                let ids: Vec<String> = owned.iter().map(i32::to_string).collect();
                // println! flushes at the newline: stdout is line-buffered.
                println!("owned {}", ids.join(","));
                reported = Some(owned);
            }
            tokio::select! {
                () = &mut parent_gone => break,
                () = tokio::time::sleep(POLL * 5) => {}
            }
        }
        consumer.shutdown().await;
        anyhow::Ok(())
    })
}

/// The victim process as the parent sees it: its pid, its reported queues; killed on drop.
struct VictimProcess {
    child: Child,
    pid: Pid,
    owned: watch::Receiver<Option<BTreeSet<i32>>>,
    /// Held so the child sees EOF only when the parent is gone.
    _stdin: ChildStdin,
}

impl VictimProcess {
    fn spawn(namesrv: &str, topic: &str, group: &str) -> anyhow::Result<Self> {
        let exe = std::env::current_exe()?;
        let mut child = Command::new(exe)
            .args(["takeover-victim", "--namesrv", namesrv, "--topic", topic])
            .args(["--group", group])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("starting the victim process")?;
        let pid = child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .and_then(Pid::from_raw)
            .context("the victim has no pid")?;
        let stdin = child.stdin.take().context("victim stdin")?;
        let stdout = child.stdout.take().context("victim stdout")?;
        let (tx, owned) = watch::channel(None);
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(ids) = line.strip_prefix("owned ") {
                    let ids = ids.split(',').filter_map(|s| s.parse().ok()).collect();
                    let _gone = tx.send(Some(ids));
                }
            }
        });
        Ok(Self {
            child,
            pid,
            owned,
            _stdin: stdin,
        })
    }

    fn owned(&self) -> BTreeSet<i32> {
        self.owned.borrow().clone().unwrap_or_default()
    }

    /// SIGKILL (also ends a stopped process) and reap.
    async fn kill(mut self) -> anyhow::Result<()> {
        let _already_dead = kill_process(self.pid, Signal::KILL);
        self.child.wait().await?;
        Ok(())
    }
}

/// Records when the survivor consumed its first message (only probes are ever sent).
fn first_message_listener(at: Arc<OnceLock<Instant>>) -> impl MessageListener {
    listener_fn(move |_| {
        let _first = at.set(Instant::now());
        async { ConsumeResult::Success }
    })
}

/// The measured times after the fault.
#[derive(Debug)]
pub struct Takeover {
    /// Until the survivor owned every queue.
    pub all_owned: Duration,
    /// Until it consumed the first probe from a queue it took over.
    pub first_message: Duration,
}

/// One takeover with a fresh topic of `queues` queues (`round` makes its name unique).
pub async fn measure(
    target: &Target,
    queues: i32,
    fault: &Fault,
    round: usize,
) -> anyhow::Result<Takeover> {
    let topic = target.extra_topic(1000 + round, queues).await?;
    let group = format!("mq_bench_takeover_{}_{round}", std::process::id());
    let all: BTreeSet<i32> = (0..queues).collect();
    let first = Arc::new(OnceLock::new());
    let survivor = instance(&target.namesrv, &topic, &group)
        .start(first_message_listener(Arc::clone(&first)))
        .await?;
    let victim = VictimProcess::spawn(&target.namesrv, &topic, &group)?;
    let producer = target.producer("mq_bench_takeover_pg").await?;
    let publish = producer.fetch_publish_queues(&topic).await?;

    // Settled: both own some, disjointly, and together all (a hand-over briefly overlaps).
    let limit = Instant::now() + SETTLE_LIMIT;
    let victims = loop {
        let (s, v) = (queue_ids(&survivor, &topic), victim.owned());
        if !s.is_empty() && !v.is_empty() && s.is_disjoint(&v) && s.len() + v.len() == all.len() {
            break v;
        }
        anyhow::ensure!(
            Instant::now() < limit,
            "the two instances never split the queues: survivor {s:?}, victim {v:?}"
        );
        tokio::time::sleep(POLL).await;
    };
    let probes: Vec<_> = publish
        .into_iter()
        .filter(|q| victims.contains(&q.queue_id))
        .collect();

    let fault_at = Instant::now();
    kill_process(victim.pid, fault.signal()).context("signalling the victim")?;
    for mq in probes {
        producer
            .send_to_queue(Message::new(&topic, "probe"), mq)
            .await?;
    }
    let limit = fault_at + fault.limit();
    let mut all_owned = None;
    let first_message = loop {
        if all_owned.is_none() && queue_ids(&survivor, &topic) == all {
            all_owned = Some(fault_at.elapsed());
        }
        if let (Some(_), Some(at)) = (all_owned, first.get()) {
            break at.duration_since(fault_at);
        }
        anyhow::ensure!(
            Instant::now() < limit,
            "no takeover within {:?}: survivor owns {:?}",
            fault.limit(),
            queue_ids(&survivor, &topic)
        );
        tokio::time::sleep(POLL).await;
    };
    victim.kill().await?;
    survivor.shutdown().await;
    producer.shutdown().await;
    Ok(Takeover {
        all_owned: all_owned.unwrap_or_default(),
        first_message,
    })
}

/// Measures `fault` once and prints its two SPEC §6 lines.
pub async fn report(
    target: &Target,
    queues: i32,
    fault: &Fault,
    round: usize,
    json: bool,
) -> anyhow::Result<()> {
    let t = measure(target, queues, fault, round).await?;
    let name = format!(
        "takeover of {queues} queues after 1 of 2 instances {}",
        fault.what()
    );
    for (what, took) in [
        ("all queues owned", t.all_owned),
        ("first message from a taken-over queue", t.first_message),
    ] {
        BenchLine {
            bench: "mq-bench consume".to_owned(),
            scenario: format!("{name}: {what}"),
            value: took.as_secs_f64() * 1e6,
            unit: "us".to_owned(),
            reference: None,
            reference_name: "-".to_owned(),
            ratio: None,
        }
        .print(json)?;
    }
    Ok(())
}
