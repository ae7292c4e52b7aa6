//! The load generator: finding `oha`, running it for one endpoint, reading its JSON summary.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use super::GateArgs;
use crate::error::{Error, Result};

/// What oha measured for one endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    /// Successful requests per second.
    pub requests_per_sec: f64,
    /// 99th percentile latency in microseconds.
    pub p99_us: f64,
    /// Responses by HTTP status code.
    pub status_codes: Vec<(String, u64)>,
    /// Requests that ended in an error (connect, read, aborted at the deadline).
    pub errors: u64,
}

impl Measured {
    /// Responses other than `200`.
    pub fn non_200(&self) -> u64 {
        self.status_codes
            .iter()
            .filter(|(code, _)| code != "200")
            .map(|(_, n)| n)
            .sum()
    }
}

/// `oha` as given, else `~/.cargo/bin/oha`, else the first `oha` on `PATH`.
pub fn find_oha(given: Option<&Path>) -> Result<PathBuf> {
    if let Some(path) = given {
        return if path.is_file() {
            Ok(path.to_owned())
        } else {
            Err(oha_missing(&format!("{} does not exist", path.display())))
        };
    }
    let cargo_bin = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .map(|home| home.join("bin").join("oha"));
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join("oha"));
    cargo_bin
        .into_iter()
        .chain(on_path)
        .find(|p| p.is_file())
        .ok_or_else(|| oha_missing("not in ~/.cargo/bin nor on PATH"))
}

fn oha_missing(detail: &str) -> Error {
    Error::Process {
        component: "oha",
        reason: format!(
            "the HTTP load generator oha was not found ({detail}); install it with `cargo install oha`"
        ),
    }
}

/// Runs oha for `args.duration` seconds at `args.concurrency` and parses its JSON summary.
pub(super) async fn run(oha: &Path, args: &GateArgs, url: &str, regex: bool) -> Result<Measured> {
    let mut command = tokio::process::Command::new(oha);
    command
        .arg("-z")
        .arg(format!("{}s", args.duration))
        .arg("-c")
        .arg(args.concurrency.to_string())
        .args(["--no-tui", "--output-format", "json"]);
    if regex {
        command.arg("--rand-regex-url");
    }
    let output = command
        .arg(url)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await?;
    if !output.status.success() {
        return Err(Error::Process {
            component: "oha",
            reason: format!(
                "exited with {} on {url}: {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        });
    }
    parse_oha_json(&output.stdout).map_err(|reason| Error::Process {
        component: "oha",
        reason: format!("unexpected JSON output on {url}: {reason}"),
    })
}

/// Reads oha's `--output-format json` summary: `summary.requestsPerSec` (successful requests
/// only), `latencyPercentiles.p99` (seconds), `statusCodeDistribution`, `errorDistribution`.
pub fn parse_oha_json(bytes: &[u8]) -> std::result::Result<Measured, String> {
    let doc: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let number = |pointer: &str| {
        doc.pointer(pointer)
            .and_then(serde_json::Value::as_f64)
            .ok_or_else(|| format!("no number at {pointer}"))
    };
    let requests_per_sec = number("/summary/requestsPerSec")?;
    let p99_us = number("/latencyPercentiles/p99")? * 1e6;
    let mut status_codes: Vec<(String, u64)> = doc
        .get("statusCodeDistribution")
        .and_then(serde_json::Value::as_object)
        .map(|codes| {
            codes
                .iter()
                .map(|(code, n)| (code.clone(), n.as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default();
    status_codes.sort();
    let errors = doc
        .get("errorDistribution")
        .and_then(serde_json::Value::as_object)
        .map(|errors| errors.values().filter_map(serde_json::Value::as_u64).sum())
        .unwrap_or(0);
    Ok(Measured {
        requests_per_sec,
        p99_us,
        status_codes,
        errors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oha_json_is_read_for_rate_latency_and_answers() {
        let sample = br#"{"summary":{"successRate":1.0,"total":10.0,"slowest":0.01,
            "fastest":0.0001,"average":0.001,"requestsPerSec":12345.6,"totalData":100,
            "sizePerRequest":20,"sizePerSec":2000.0},
            "latencyPercentiles":{"p50":0.001,"p99":0.0025,"p99.9":0.004},
            "statusCodeDistribution":{"503":3,"200":1000},
            "errorDistribution":{"aborted due to deadline":7}}"#;
        let m = parse_oha_json(sample).unwrap_or_else(|e| panic!("{e}"));
        assert!((m.requests_per_sec - 12345.6).abs() < 1e-9);
        assert!((m.p99_us - 2500.0).abs() < 1e-6);
        assert_eq!(
            m.status_codes,
            vec![("200".to_owned(), 1000), ("503".to_owned(), 3)]
        );
        assert_eq!((m.non_200(), m.errors), (3, 7));
    }

    #[test]
    fn a_summary_without_a_rate_is_an_error() {
        assert!(parse_oha_json(br#"{"summary":{}}"#).is_err());
        assert!(parse_oha_json(b"not json").is_err());
    }

    #[test]
    fn a_given_oha_path_that_does_not_exist_says_how_to_install_it() {
        let error = find_oha(Some(Path::new("/nonexistent/oha")))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.contains("cargo install oha"), "{error}");
    }
}
