//! The gate benchmark's figures: each round's pair of endpoints, and the median round that
//! the text and the SPEC §6 JSON lines report.

use super::GateArgs;
use super::oha::Measured;
use crate::error::{Error, Result};
use crate::spec_line::{SpecLine, ratio, verdict};

/// The figure the gate is held to: `/seckill` at least this share of `/healthz` req/s.
pub const TARGET_RATIO: f64 = 0.5;
const BENCH_NAME: &str = "seckill-bench gate";
const REFERENCE_NAME: &str = "/healthz of the same process";

/// One round: both endpoints, driven back to back.
#[derive(Debug)]
pub(super) struct Round {
    pub(super) healthz: Measured,
    pub(super) seckill: Measured,
    /// Units of stock taken during the round's /seckill run: orders queued (and not given back).
    pub(super) queued: i64,
}

impl Round {
    fn ratio(&self) -> f64 {
        ratio(self.seckill.requests_per_sec, self.healthz.requests_per_sec)
    }
}

/// Every round, in the order run.
#[derive(Debug)]
pub(super) struct Report {
    rounds: Vec<Round>,
}

impl Report {
    pub(super) fn new(rounds: Vec<Round>) -> Self {
        Self { rounds }
    }

    /// The round whose ratio is the median; of an even count, the lower of the middle two.
    /// Its own pair is reported, so value ÷ reference is the reported ratio.
    fn median(&self) -> Option<&Round> {
        let mut by_ratio: Vec<&Round> = self.rounds.iter().collect();
        by_ratio.sort_by(|a, b| a.ratio().total_cmp(&b.ratio()));
        let middle = by_ratio.len().saturating_sub(1) / 2;
        by_ratio.get(middle).copied()
    }

    pub(super) fn print(&self, args: &GateArgs) -> Result<()> {
        let median = self
            .median()
            .ok_or_else(|| Error::Config("the gate benchmark ran no round".into()))?;
        if args.json {
            self.print_json(args, median)?;
        } else {
            self.print_text(args, median);
        }
        let refused: u64 = self.rounds.iter().map(|r| r.seckill.non_200()).sum();
        if refused > 0 {
            let codes: Vec<_> = self
                .rounds
                .iter()
                .map(|r| &r.seckill.status_codes)
                .collect();
            eprintln!(
                "seckill-bench gate: warning: {refused} /seckill answers were not 200 ({codes:?}); the gate shed or failed requests"
            );
        }
        Ok(())
    }

    fn print_json(&self, args: &GateArgs, median: &Round) -> Result<()> {
        let shape = format!(
            "c={}, {}s, median of {} round(s)",
            args.concurrency,
            args.duration,
            self.rounds.len()
        );
        let lines = [
            SpecLine::new(
                BENCH_NAME,
                format!("/seckill req/s, random users, {shape}"),
                (median.seckill.requests_per_sec, "req/s"),
                (median.healthz.requests_per_sec, REFERENCE_NAME),
            ),
            SpecLine::new(
                BENCH_NAME,
                format!("/seckill p99, random users, {shape}"),
                (median.seckill.p99_us, "us"),
                (median.healthz.p99_us, REFERENCE_NAME),
            ),
        ];
        lines.iter().try_for_each(SpecLine::print)
    }

    fn print_text(&self, args: &GateArgs, median: &Round) {
        println!(
            "seckill-bench gate: c={}, {} round(s) of {} s per endpoint, alternating which goes first",
            args.concurrency,
            self.rounds.len(),
            args.duration
        );
        for (number, round) in self.rounds.iter().enumerate() {
            println!(
                "  round {}: /healthz {:.0} req/s, /seckill {:.0} req/s, ratio {:.3}",
                number + 1,
                round.healthz.requests_per_sec,
                round.seckill.requests_per_sec,
                round.ratio()
            );
        }
        println!("  median round:");
        for (name, m) in [("/healthz", &median.healthz), ("/seckill", &median.seckill)] {
            println!(
                "  {name:<9} {:>10.0} req/s   p99 {:>9.0} us   non-200 {}   errors {}",
                m.requests_per_sec,
                m.p99_us,
                m.non_200(),
                m.errors
            );
        }
        let queued: i64 = self.rounds.iter().map(|r| r.queued).sum();
        println!("  orders queued during the /seckill runs: {queued}");
        let ratio = median.ratio();
        println!(
            "  ratio /seckill ÷ /healthz: {ratio:.3} ({} the target ≥ {TARGET_RATIO})",
            verdict(ratio, TARGET_RATIO)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured(requests_per_sec: f64) -> Measured {
        Measured {
            requests_per_sec,
            p99_us: 1000.0,
            status_codes: vec![("200".to_owned(), 1)],
            errors: 0,
        }
    }

    fn report(pairs: &[(f64, f64)]) -> Report {
        Report::new(
            pairs
                .iter()
                .map(|&(seckill, healthz)| Round {
                    healthz: measured(healthz),
                    seckill: measured(seckill),
                    queued: 0,
                })
                .collect(),
        )
    }

    fn median_pair(report: &Report) -> Option<(f64, f64)> {
        report
            .median()
            .map(|r| (r.seckill.requests_per_sec, r.healthz.requests_per_sec))
    }

    #[test]
    fn the_median_round_is_picked_by_ratio_not_by_rate() {
        // Ratios 0.40, 0.60, 0.50: the middle one by ratio is the third round, whose
        // /seckill rate is neither the middle rate nor its pair's neighbour.
        let three = report(&[(40.0, 100.0), (30.0, 50.0), (45.0, 90.0)]);
        assert_eq!(median_pair(&three), Some((45.0, 90.0)));
    }

    #[test]
    fn of_an_even_count_the_lower_middle_round_is_reported() {
        let two = report(&[(60.0, 100.0), (40.0, 100.0)]);
        assert_eq!(median_pair(&two), Some((40.0, 100.0)));
        let one = report(&[(50.0, 100.0)]);
        assert_eq!(median_pair(&one), Some((50.0, 100.0)));
        assert!(report(&[]).median().is_none());
    }
}
