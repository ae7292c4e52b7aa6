//! The best peer per scenario and metric (highest throughput, lowest latency, never mq-core)
//! and mq-core's ratio to it.

use super::{Figure, Metric, Results, Role};

impl Results {
    fn role(&self, system: &str) -> Option<Role> {
        self.systems
            .iter()
            .find(|s| s.name == system)
            .map(|s| s.role)
    }

    /// The best figure among the peers accepted by `admit`, with the peer's name.
    pub(super) fn best_where(
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
}

/// value / reference, when the reference is positive.
pub fn ratio(value: f64, reference: f64) -> Option<f64> {
    (reference > 0.0 && reference.is_finite()).then(|| value / reference)
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::sample;
    use super::super::{NATS, REDIS};
    use super::*;

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
}
