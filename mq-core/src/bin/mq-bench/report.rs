//! The result line every `mq-bench` subcommand prints (SPEC §6): human text or one JSON object.

use serde::Serialize;

/// One scenario's figure next to its reference measured in the same run.
#[derive(Debug, Clone, Serialize)]
pub struct BenchLine {
    /// The command, e.g. `mq-bench store`.
    pub bench: String,
    /// What was run.
    pub scenario: String,
    /// The measured figure.
    pub value: f64,
    /// Its unit (`msgs/s`, `us`, `MB/s`…).
    pub unit: String,
    /// The reference figure, if the scenario has one.
    pub reference: Option<f64>,
    /// What the reference is.
    pub reference_name: String,
    /// value / reference.
    pub ratio: Option<f64>,
}

impl BenchLine {
    /// Prints the line as JSON or as aligned text.
    pub fn print(&self, json: bool) -> anyhow::Result<()> {
        if json {
            println!("{}", serde_json::to_string(self)?);
        } else {
            let reference = self.reference.map_or_else(String::new, |r| {
                format!("  reference {r:>12.0} ({})", self.reference_name)
            });
            let ratio = self
                .ratio
                .map_or_else(String::new, |r| format!("  ratio {r:.2}"));
            println!(
                "{:<40} {:>12.0} {}{reference}{ratio}",
                self.scenario, self.value, self.unit
            );
        }
        Ok(())
    }
}
