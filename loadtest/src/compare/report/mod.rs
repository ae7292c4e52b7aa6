//! The figures of a run and the types every view of them shares; the views live in submodules.
//!
//! | module | owns |
//! |---|---|
//! | `reference` | the best peer per scenario and metric, mq-core's ratio to it |
//! | `targets` | the targets, evaluated |
//! | `json` | SPEC §6 JSON lines |
//! | `markdown` | the Markdown report |
//! | `format` | counts, sizes and dates as text |

mod format;
mod json;
mod markdown;
mod reference;
mod targets;

#[cfg(test)]
mod fixtures;

pub use format::{fmt_count, size_label, utc_date};
pub use json::BenchLine;
pub use reference::ratio;
pub use targets::Target;

/// Name of mq-core with ASYNC_FLUSH in every table and line.
pub const MQ_ASYNC: &str = "mq-core ASYNC_FLUSH";
/// Name of mq-core with SYNC_FLUSH.
pub const MQ_SYNC: &str = "mq-core SYNC_FLUSH";
/// Name of NATS JetStream (file storage).
pub const NATS: &str = "NATS JetStream";
/// Name of RabbitMQ (durable queue, persistent messages, confirms).
pub const RABBITMQ: &str = "RabbitMQ";
/// Name of Redis Streams.
pub const REDIS: &str = "Redis Streams";

/// What a system is in the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The system under test: compared against the peers, never a reference.
    MqCore,
    /// A peer; `persistent` when its acknowledgement means the message is on disk or in a
    /// file that survives a restart of the server (not Redis without AOF/RDB).
    Peer {
        /// Whether it keeps messages on disk.
        persistent: bool,
    },
}

/// A system of the run and whether it could be measured.
#[derive(Debug, Clone)]
pub struct System {
    /// Its name in tables and JSON lines.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// Its durability setting, stated next to its figures.
    pub durability: String,
    /// `Some(reason)` when it was not reachable (no figures, never faked).
    pub skipped: Option<String>,
}

/// One measured quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Acknowledged sends per second.
    Produced,
    /// The same in MB/s of body.
    ProducedMb,
    /// Acknowledgement latency percentiles (µs).
    AckP50,
    /// p99 of the same.
    AckP99,
    /// p99.9 of the same.
    AckP999,
    /// Messages consumed per second draining a backlog.
    Consumed,
    /// Send-to-receive latency p99 (µs) at a moderate rate.
    E2eP99,
}

impl Metric {
    /// Its unit (SPEC §6).
    pub fn unit(self) -> &'static str {
        match self {
            Self::Produced | Self::Consumed => "msgs/s",
            Self::ProducedMb => "MB/s",
            Self::AckP50 | Self::AckP99 | Self::AckP999 | Self::E2eP99 => "us",
        }
    }

    /// Whether more is better (throughput) or less (latency).
    pub fn higher_is_better(self) -> bool {
        matches!(self, Self::Produced | Self::ProducedMb | Self::Consumed)
    }
}

/// One figure of one system in one scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// The system's name.
    pub system: String,
    /// e.g. `produce 1KiB inflight=64`.
    pub scenario: String,
    /// What was measured.
    pub metric: Metric,
    /// The value in the metric's unit.
    pub value: f64,
}

/// A scenario a reachable system failed (reported instead of figures).
#[derive(Debug, Clone)]
pub struct Failure {
    /// The system's name.
    pub system: String,
    /// The scenario.
    pub scenario: String,
    /// Why.
    pub reason: String,
}

/// The settings of a run, printed above the tables.
#[derive(Debug, Clone, Default)]
pub struct RunInfo {
    /// The command as typed.
    pub command: String,
    /// UTC date and time of the start.
    pub date: String,
    /// CPUs available.
    pub cpus: usize,
    /// `/proc/loadavg` at the start and at the end.
    pub load: (String, String),
    /// Seconds per produce scenario.
    pub duration: f64,
    /// Backlog size of the consume scenario.
    pub backlog: u64,
    /// Offered rate of the end-to-end scenario.
    pub e2e_rate: u64,
}

/// Everything a run measured.
#[derive(Debug, Clone, Default)]
pub struct Results {
    /// Systems in the order they ran.
    pub systems: Vec<System>,
    /// Figures in the order they were measured.
    pub figures: Vec<Figure>,
    /// Scenarios that failed.
    pub failures: Vec<Failure>,
    /// The run's settings.
    pub info: RunInfo,
}

impl Results {
    /// A system's figure.
    pub fn value(&self, system: &str, scenario: &str, metric: Metric) -> Option<f64> {
        self.figures
            .iter()
            .find(|f| f.system == system && f.scenario == scenario && f.metric == metric)
            .map(|f| f.value)
    }

    /// The scenarios starting with `prefix`, in the order first measured.
    pub fn scenarios(&self, prefix: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for f in &self.figures {
            if f.scenario.starts_with(prefix) && !out.contains(&f.scenario) {
                out.push(f.scenario.clone());
            }
        }
        out
    }
}
