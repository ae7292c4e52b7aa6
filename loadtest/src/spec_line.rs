//! The result line of SPEC §6 that `seckill-bench gate` and `seckill-bench drain` print with
//! `--json`: one figure with the reference measured in the same run, and their ratio.

use serde::Serialize;

use crate::error::{Error, Result};

/// One figure against its reference.
#[derive(Debug, Serialize)]
pub struct SpecLine<'a> {
    bench: &'a str,
    scenario: String,
    value: f64,
    unit: &'a str,
    reference: f64,
    reference_name: &'a str,
    ratio: f64,
}

impl<'a> SpecLine<'a> {
    /// The line of `value` (in `unit`) against `reference`: both rounded to 0.1, the ratio
    /// (of the unrounded figures; 0 when the reference is 0) to 0.001.
    pub fn new(
        bench: &'a str,
        scenario: String,
        (value, unit): (f64, &'a str),
        (reference, reference_name): (f64, &'a str),
    ) -> Self {
        Self {
            bench,
            scenario,
            value: round1(value),
            unit,
            reference: round1(reference),
            reference_name,
            ratio: round3(ratio(value, reference)),
        }
    }

    /// Prints the line as one JSON object.
    pub fn print(&self) -> Result<()> {
        let text = serde_json::to_string(self)
            .map_err(|e| Error::Config(format!("cannot encode a result line: {e}")))?;
        println!("{text}");
        Ok(())
    }
}

/// `value ÷ reference`, or 0 for a reference of 0 (a run that measured nothing).
pub fn ratio(value: f64, reference: f64) -> f64 {
    if reference > 0.0 {
        value / reference
    } else {
        0.0
    }
}

/// How a ratio reads against its target, for the text output.
pub fn verdict(ratio: f64, target: f64) -> &'static str {
    if ratio >= target { "meets" } else { "BELOW" }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_rounds_its_figures_and_keeps_the_exact_ratio() {
        let line = SpecLine::new(
            "seckill-bench gate",
            "/seckill req/s".into(),
            (33_333.333, "req/s"),
            (66_666.666, "/healthz"),
        );
        let json = serde_json::to_value(&line).unwrap_or_default();
        assert_eq!(json["value"], 33_333.3);
        assert_eq!(json["reference"], 66_666.7);
        assert_eq!(json["ratio"], 0.5);
        assert_eq!(json["unit"], "req/s");
        assert_eq!(json["reference_name"], "/healthz");
    }

    #[test]
    fn a_zero_reference_gives_ratio_zero_not_infinity() {
        assert_eq!(ratio(10.0, 0.0), 0.0);
        assert_eq!(verdict(0.5, 0.5), "meets");
        assert_eq!(verdict(0.499, 0.5), "BELOW");
    }
}
