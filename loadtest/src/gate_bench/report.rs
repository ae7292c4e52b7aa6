//! The gate benchmark's figures: each round's pair of endpoints, and the median round that
//! the text and the SPEC §6 JSON lines report.

use serde::Serialize;

use super::GateArgs;
use super::oha::Measured;
use crate::error::{Error, Result};

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
        ratio_of(self.seckill.requests_per_sec, self.healthz.requests_per_sec)
    }
}

/// Every round, in the order run.
#[derive(Debug)]
pub(super) struct Report {
    rounds: Vec<Round>,
}

/// One SPEC §6 line.
#[derive(Debug, Serialize)]
struct Line<'a> {
    bench: &'a str,
    scenario: String,
    value: f64,
    unit: &'a str,
    reference: f64,
    reference_name: &'a str,
    ratio: f64,
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
            "c={}, {}s, median of {} rounds",
            args.concurrency,
            args.duration,
            self.rounds.len()
        );
        let lines = [
            Line {
                bench: BENCH_NAME,
                scenario: format!("/seckill req/s, random users, {shape}"),
                value: round(median.seckill.requests_per_sec),
                unit: "req/s",
                reference: round(median.healthz.requests_per_sec),
                reference_name: REFERENCE_NAME,
                ratio: round3(median.ratio()),
            },
            Line {
                bench: BENCH_NAME,
                scenario: format!("/seckill p99, random users, {shape}"),
                value: round(median.seckill.p99_us),
                unit: "us",
                reference: round(median.healthz.p99_us),
                reference_name: REFERENCE_NAME,
                ratio: round3(ratio_of(median.seckill.p99_us, median.healthz.p99_us)),
            },
        ];
        for line in lines {
            let text = serde_json::to_string(&line)
                .map_err(|e| Error::Config(format!("cannot encode a result line: {e}")))?;
            println!("{text}");
        }
        Ok(())
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
        let verdict = if ratio >= TARGET_RATIO {
            "meets"
        } else {
            "BELOW"
        };
        println!("  ratio /seckill ÷ /healthz: {ratio:.3} ({verdict} the target ≥ {TARGET_RATIO})");
    }
}

fn ratio_of(value: f64, reference: f64) -> f64 {
    if reference > 0.0 {
        value / reference
    } else {
        0.0
    }
}

fn round(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
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

    #[test]
    fn a_reference_of_zero_gives_ratio_zero_not_infinity() {
        let broken = report(&[(10.0, 0.0)]);
        assert_eq!(broken.median().map(Round::ratio), Some(0.0));
    }
}
