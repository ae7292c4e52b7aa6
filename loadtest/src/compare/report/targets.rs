//! The targets (issue 9): which of mq-core's figures are held against which reference,
//! the ratio each needs, and whether this run meets it.

use super::{MQ_ASYNC, MQ_SYNC, Metric, RABBITMQ, REDIS, Results, Role, ratio};

/// One of the targets, evaluated.
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
    /// The targets that this run can evaluate (its scenarios and peers permitting).
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
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::sample;
    use super::super::{NATS, RABBITMQ};

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
}
