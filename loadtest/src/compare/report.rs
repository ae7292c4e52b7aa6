//! The figures of a run and what is derived from them: the best peer per scenario and metric,
//! mq-core's ratios to it, the issue's targets, SPEC §6 JSON lines and the Markdown report.

use std::fmt::Write as _;

use serde::Serialize;

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

    /// What follows the scenario in a JSON line's `scenario` (empty for the headline figure).
    fn suffix(self) -> &'static str {
        match self {
            Self::Produced | Self::Consumed => "",
            Self::ProducedMb => "throughput",
            Self::AckP50 => "ack p50",
            Self::AckP99 => "ack p99",
            Self::AckP999 => "ack p99.9",
            Self::E2eP99 => "p99",
        }
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

/// A SPEC §6 line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchLine {
    /// Always `mq-compare`.
    pub bench: &'static str,
    /// Scenario, metric and system.
    pub scenario: String,
    /// The figure.
    pub value: f64,
    /// Its unit.
    pub unit: &'static str,
    /// The best peer's figure in the same scenario and metric.
    pub reference: Option<f64>,
    /// The best peer's name (`-` when no peer was measured).
    pub reference_name: String,
    /// value / reference.
    pub ratio: Option<f64>,
}

/// One of the issue's targets, evaluated.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// What is compared, e.g. `ASYNC_FLUSH produce 1KiB inflight=64 vs best persistent peer`.
    pub what: String,
    /// mq-core's figure.
    pub value: f64,
    /// The reference figure and its system.
    pub reference: (String, f64),
    /// value / reference.
    pub ratio: f64,
    /// The ratio needed: at least (throughput) or at most (latency).
    pub needed: f64,
    /// Whether more is better.
    pub higher_is_better: bool,
}

impl Target {
    /// Whether the target is met.
    pub fn met(&self) -> bool {
        if self.higher_is_better {
            self.ratio >= self.needed
        } else {
            self.ratio <= self.needed
        }
    }
}

impl Results {
    fn role(&self, system: &str) -> Option<Role> {
        self.systems
            .iter()
            .find(|s| s.name == system)
            .map(|s| s.role)
    }

    /// A system's figure.
    pub fn value(&self, system: &str, scenario: &str, metric: Metric) -> Option<f64> {
        self.figures
            .iter()
            .find(|f| f.system == system && f.scenario == scenario && f.metric == metric)
            .map(|f| f.value)
    }

    /// The best figure among the peers accepted by `admit`, with the peer's name.
    fn best_where(
        &self,
        scenario: &str,
        metric: Metric,
        admit: impl Fn(&str, Role) -> bool,
    ) -> Option<(String, f64)> {
        let candidates = self.figures.iter().filter(|f| {
            f.scenario == scenario
                && f.metric == metric
                && self.role(&f.system).is_some_and(|r| admit(&f.system, r))
        });
        let mut best: Option<&Figure> = None;
        for f in candidates {
            let better = best.is_none_or(|b| {
                if metric.higher_is_better() {
                    f.value > b.value
                } else {
                    f.value < b.value
                }
            });
            if better {
                best = Some(f);
            }
        }
        best.map(|f| (f.system.clone(), f.value))
    }

    /// The best peer's figure (highest throughput, lowest latency) in a scenario and metric.
    pub fn best_peer(&self, scenario: &str, metric: Metric) -> Option<(String, f64)> {
        self.best_where(scenario, metric, |_, r| matches!(r, Role::Peer { .. }))
    }

    /// One SPEC §6 line per figure, the best peer as reference.
    pub fn lines(&self) -> Vec<BenchLine> {
        self.figures
            .iter()
            .map(|f| {
                let best = self.best_peer(&f.scenario, f.metric);
                let scenario = [f.scenario.as_str(), f.metric.suffix(), f.system.as_str()]
                    .iter()
                    .filter(|s| !s.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join(" ");
                BenchLine {
                    bench: "mq-compare",
                    scenario,
                    value: f.value,
                    unit: f.metric.unit(),
                    reference: best.as_ref().map(|b| b.1),
                    reference_name: best.as_ref().map_or_else(|| "-".into(), |b| b.0.clone()),
                    ratio: best.as_ref().and_then(|b| ratio(f.value, b.1)),
                }
            })
            .collect()
    }

    /// The issue's targets that this run can evaluate (its scenarios and peers permitting).
    pub fn targets(&self) -> Vec<Target> {
        let busy = "produce 1KiB inflight=64";
        let single = "produce 1KiB inflight=1";
        let mut out = Vec::new();
        let mut check = |what: &str,
                         system: &str,
                         scenario: &str,
                         metric: Metric,
                         reference: Option<(String, f64)>,
                         needed: f64| {
            let (Some(value), Some(reference)) = (self.value(system, scenario, metric), reference)
            else {
                return;
            };
            let Some(r) = ratio(value, reference.1) else {
                return;
            };
            out.push(Target {
                what: what.to_owned(),
                value,
                reference,
                ratio: r,
                needed,
                higher_is_better: metric.higher_is_better(),
            });
        };
        let persistent = self.best_where(busy, Metric::Produced, |_, r| {
            r == Role::Peer { persistent: true }
        });
        check(
            "ASYNC_FLUSH produce msgs/s, 1 KiB, 64 in flight, vs best persistent peer",
            MQ_ASYNC,
            busy,
            Metric::Produced,
            persistent,
            1.5,
        );
        let redis = self.best_where(busy, Metric::Produced, |n, _| n == REDIS);
        check(
            "ASYNC_FLUSH produce msgs/s, 1 KiB, 64 in flight, vs Redis Streams",
            MQ_ASYNC,
            busy,
            Metric::Produced,
            redis,
            1.0,
        );
        let rabbit = self.best_where(busy, Metric::Produced, |n, _| n == RABBITMQ);
        check(
            "SYNC_FLUSH produce msgs/s, 1 KiB, 64 in flight, vs RabbitMQ with confirms",
            MQ_SYNC,
            busy,
            Metric::Produced,
            rabbit,
            3.0,
        );
        check(
            "ASYNC_FLUSH ack p99, 1 KiB, 1 in flight, vs best peer",
            MQ_ASYNC,
            single,
            Metric::AckP99,
            self.best_peer(single, Metric::AckP99),
            1.0,
        );
        out
    }

    /// The Markdown report: settings, durability, figures with ratios, targets, chart.
    pub fn markdown(&self, chart_file: Option<&str>) -> String {
        let mut md = String::new();
        let i = &self.info;
        let _ = writeln!(md, "# mq-compare: mq-core and its peers\n");
        let _ = writeln!(
            md,
            "Generated by `mq-compare` on {} ({} CPUs; load average {} at the start, {} at the end).\n",
            i.date, i.cpus, i.load.0, i.load.1
        );
        let _ = writeln!(md, "```sh\n{}\n```\n", i.command);
        let _ = writeln!(
            md,
            "Produce: {:.0} s per scenario after a 0.5 s warm-up, each send awaiting its \
             acknowledgement, n sends in flight from concurrent tasks sharing one client. \
             Consume: a backlog of {} × 1 KiB drained by each system's usual consumer, timed \
             from the first to the last message. End-to-end: 1 KiB at {} msgs/s offered, \
             send to receive. Ratios are to the best peer in the same run (for latency, below \
             1 is better).\n",
            i.duration, i.backlog, i.e2e_rate
        );
        let _ = writeln!(
            md,
            "| system | durability of an acknowledged message | status |"
        );
        let _ = writeln!(md, "|---|---|---|");
        for s in &self.systems {
            let status = match &s.skipped {
                Some(why) => format!("skipped: {why}"),
                None => "measured".into(),
            };
            let _ = writeln!(md, "| {} | {} | {} |", s.name, s.durability, status);
        }
        let _ = writeln!(md, "\n## Produce with acknowledgement\n");
        let _ = writeln!(
            md,
            "| scenario | system | msgs/s | MB/s | ack p50 µs | ack p99 µs | ack p99.9 µs | msgs/s ÷ best peer | p99 ÷ best peer |"
        );
        let _ = writeln!(md, "|---|---|---:|---:|---:|---:|---:|---:|---:|");
        for scenario in self.scenarios("produce") {
            for s in &self.systems {
                let Some(rate) = self.value(&s.name, &scenario, Metric::Produced) else {
                    continue;
                };
                let v = |m| self.value(&s.name, &scenario, m);
                let _ = writeln!(
                    md,
                    "| {scenario} | {} | {} | {} | {} | {} | {} | {} | {} |",
                    s.name,
                    fmt_count(rate),
                    v(Metric::ProducedMb).map_or("–".into(), |x| format!("{x:.1}")),
                    v(Metric::AckP50).map_or("–".into(), fmt_count),
                    v(Metric::AckP99).map_or("–".into(), fmt_count),
                    v(Metric::AckP999).map_or("–".into(), fmt_count),
                    self.ratio_cell(&s.name, &scenario, Metric::Produced),
                    self.ratio_cell(&s.name, &scenario, Metric::AckP99),
                );
            }
        }
        let _ = writeln!(md, "\n## Consume\n");
        let _ = writeln!(
            md,
            "| system | drain msgs/s | ÷ best peer | end-to-end p99 µs | ÷ best peer |"
        );
        let _ = writeln!(md, "|---|---:|---:|---:|---:|");
        let drain = self.scenarios("consume").into_iter().next();
        let e2e = self.scenarios("e2e").into_iter().next();
        for s in &self.systems {
            let cell = |scenario: &Option<String>, m: Metric| {
                scenario.as_ref().map_or(("–".into(), "–".into()), |sc| {
                    (
                        self.value(&s.name, sc, m).map_or("–".into(), fmt_count),
                        self.ratio_cell(&s.name, sc, m),
                    )
                })
            };
            let (d, dr) = cell(&drain, Metric::Consumed);
            let (e, er) = cell(&e2e, Metric::E2eP99);
            if d == "–" && e == "–" {
                continue;
            }
            let _ = writeln!(md, "| {} | {d} | {dr} | {e} | {er} |", s.name);
        }
        if !self.failures.is_empty() {
            let _ = writeln!(md, "\nFailed scenarios (no figure):\n");
            for f in &self.failures {
                let _ = writeln!(md, "- {} / {}: {}", f.system, f.scenario, f.reason);
            }
        }
        let targets = self.targets();
        if !targets.is_empty() {
            let _ = writeln!(md, "\n## Targets (issue 9)\n");
            let _ = writeln!(
                md,
                "| target | mq-core | reference | ratio | needed | met |"
            );
            let _ = writeln!(md, "|---|---:|---|---:|---:|---|");
            for t in &targets {
                let _ = writeln!(
                    md,
                    "| {} | {} | {} {} | {:.2} | {} {:.1} | {} |",
                    t.what,
                    fmt_count(t.value),
                    t.reference.0,
                    fmt_count(t.reference.1),
                    t.ratio,
                    if t.higher_is_better { "≥" } else { "≤" },
                    t.needed,
                    if t.met() { "yes" } else { "**no**" }
                );
            }
        }
        if let Some(chart) = chart_file {
            let _ = writeln!(md, "\n![mq-compare chart]({chart})");
        }
        md
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

    fn ratio_cell(&self, system: &str, scenario: &str, metric: Metric) -> String {
        let Some(value) = self.value(system, scenario, metric) else {
            return "–".into();
        };
        match self.best_peer(scenario, metric) {
            Some((_, best)) => ratio(value, best).map_or("–".into(), |r| format!("{r:.2}")),
            None => "–".into(),
        }
    }
}

/// value / reference, when the reference is positive.
pub fn ratio(value: f64, reference: f64) -> Option<f64> {
    (reference > 0.0 && reference.is_finite()).then(|| value / reference)
}

/// `1024` → `1KiB`, `100` → `100B`.
pub fn size_label(size: usize) -> String {
    if size >= 1024 && size % 1024 == 0 {
        format!("{}KiB", size / 1024)
    } else {
        format!("{size}B")
    }
}

/// A count with thousands separators (`196600.4` → `196,600`).
pub fn fmt_count(v: f64) -> String {
    let n = v.round();
    if !n.is_finite() {
        return format!("{v}");
    }
    let digits = format!("{:.0}", n.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0.0 { format!("-{out}") } else { out }
}

/// `YYYY-MM-DD HH:MM UTC` of seconds since the Unix epoch (civil-from-days).
pub fn utc_date(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        (rem % 3600) / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn system(name: &str, role: Role) -> System {
        System {
            name: name.into(),
            role,
            durability: "d".into(),
            skipped: None,
        }
    }

    fn fig(system: &str, scenario: &str, metric: Metric, value: f64) -> Figure {
        Figure {
            system: system.into(),
            scenario: scenario.into(),
            metric,
            value,
        }
    }

    fn sample() -> Results {
        let busy = "produce 1KiB inflight=64";
        let single = "produce 1KiB inflight=1";
        Results {
            systems: vec![
                system(MQ_ASYNC, Role::MqCore),
                system(MQ_SYNC, Role::MqCore),
                system(NATS, Role::Peer { persistent: true }),
                system(RABBITMQ, Role::Peer { persistent: true }),
                system(REDIS, Role::Peer { persistent: false }),
            ],
            figures: vec![
                fig(MQ_ASYNC, busy, Metric::Produced, 300_000.0),
                fig(MQ_SYNC, busy, Metric::Produced, 60_000.0),
                fig(NATS, busy, Metric::Produced, 100_000.0),
                fig(RABBITMQ, busy, Metric::Produced, 20_000.0),
                fig(REDIS, busy, Metric::Produced, 200_000.0),
                fig(MQ_ASYNC, single, Metric::AckP99, 200.0),
                fig(NATS, single, Metric::AckP99, 160.0),
                fig(REDIS, single, Metric::AckP99, 180.0),
            ],
            ..Default::default()
        }
    }

    #[test]
    fn best_peer_is_highest_throughput_and_lowest_latency_and_never_mq_core() {
        let r = sample();
        assert_eq!(
            r.best_peer("produce 1KiB inflight=64", Metric::Produced),
            Some((REDIS.into(), 200_000.0))
        );
        assert_eq!(
            r.best_peer("produce 1KiB inflight=1", Metric::AckP99),
            Some((NATS.into(), 160.0))
        );
        assert_eq!(r.best_peer("consume", Metric::Consumed), None);
    }

    #[test]
    fn json_lines_follow_spec_6() -> Result<(), serde_json::Error> {
        let r = sample();
        let lines = r.lines();
        let line = serde_json::to_string(&lines[0])?;
        assert_eq!(
            line,
            r#"{"bench":"mq-compare","scenario":"produce 1KiB inflight=64 mq-core ASYNC_FLUSH","value":300000.0,"unit":"msgs/s","reference":200000.0,"reference_name":"Redis Streams","ratio":1.5}"#
        );
        let p99 = lines
            .iter()
            .find(|l| l.scenario == "produce 1KiB inflight=1 ack p99 mq-core ASYNC_FLUSH")
            .map(|l| (l.unit, l.ratio));
        assert_eq!(p99, Some(("us", Some(1.25))));
        Ok(())
    }

    #[test]
    fn targets_use_the_right_references() {
        let t = sample().targets();
        let by = |what: &str| t.iter().find(|t| t.what.contains(what)).cloned();
        let persistent =
            by("best persistent peer").map(|t| (t.reference.0.clone(), t.ratio, t.met()));
        assert_eq!(persistent, Some((NATS.into(), 3.0, true)));
        let redis = by("vs Redis").map(|t| (t.ratio, t.met()));
        assert_eq!(redis, Some((1.5, true)));
        let rabbit = by("RabbitMQ").map(|t| (t.ratio, t.met()));
        assert_eq!(rabbit, Some((3.0, true)));
        let latency = by("ack p99").map(|t| (t.ratio, t.met()));
        assert_eq!(latency, Some((1.25, false)));
    }

    #[test]
    fn a_skipped_peer_gives_no_reference_and_no_target() {
        let mut r = sample();
        r.figures.retain(|f| f.system != RABBITMQ);
        assert!(!r.targets().iter().any(|t| t.what.contains("RabbitMQ")));
        assert!(
            r.markdown(None)
                .contains("| produce 1KiB inflight=64 | mq-core SYNC_FLUSH |")
        );
    }

    #[test]
    fn formatting_helpers() {
        assert_eq!(fmt_count(196_600.4), "196,600");
        assert_eq!(fmt_count(999.0), "999");
        assert_eq!(size_label(1024), "1KiB");
        assert_eq!(size_label(100), "100B");
        assert_eq!(ratio(1.0, 0.0), None);
        assert_eq!(utc_date(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc_date(1_764_115_200 + 3_661), "2025-11-26 01:01 UTC");
    }
}
