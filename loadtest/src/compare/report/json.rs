//! The SPEC §6 JSON lines of a run: one per figure, the best peer as its reference.

use serde::Serialize;

use super::{Metric, Results, ratio};

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

impl Metric {
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

impl Results {
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
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::sample;

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
}
