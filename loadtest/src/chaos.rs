//! A load run with process kills: while [`crate::driver`] sends load, each [`ChaosStep`]
//! `kill -9`s a component, keeps it down for a while and restarts it (waiting until healthy).
//! The caller verifies afterwards; SPEC §4.4 says every invariant must still hold.
//!
//! Used by `seckill-chaos` (loadtest/chaos/) and the e2e test with a seckill-service kill.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::driver::{self, LoadConfig, LoadSummary};
use crate::error::{Error, Result};
use crate::load_log::LoadLogSink;
use crate::stack::{Component, Stack};

/// One kill and restart.
#[derive(Debug, Clone, Copy)]
pub struct ChaosStep {
    /// When, after the load started.
    pub at: Duration,
    /// What to `kill -9`.
    pub component: Component,
    /// How long it stays down before the restart.
    pub down_for: Duration,
}

/// What happened, in order.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChaosEvent {
    /// Seconds since the load started.
    pub at_secs: f64,
    /// What.
    pub what: String,
}

/// The load's summary and the kill/restart timeline.
#[derive(Debug, Clone, Serialize)]
pub struct ChaosOutcome {
    /// What the load driver saw.
    pub load: LoadSummary,
    /// Kills and restarts.
    pub events: Vec<ChaosEvent>,
}

/// Runs `load` against `stack` and the `steps` (in order) at the same time.
pub async fn run(
    stack: &mut Stack,
    load: LoadConfig,
    steps: &[ChaosStep],
    sink: Option<LoadLogSink>,
) -> Result<ChaosOutcome> {
    let started = Instant::now();
    let load_task = tokio::spawn(driver::run(load, sink));
    let mut events = Vec::new();
    let mut event = |what: String| {
        events.push(ChaosEvent {
            at_secs: started.elapsed().as_secs_f64(),
            what,
        });
    };
    for step in steps {
        if let Some(wait) = step.at.checked_sub(started.elapsed()) {
            tokio::time::sleep(wait).await;
        }
        if load_task.is_finished() {
            event(format!(
                "note: the load ended before the kill of {}; make the run longer",
                step.component
            ));
        }
        let pid = stack.pid(step.component).unwrap_or(0);
        stack.kill9(step.component).await?;
        event(format!("kill -9 {} (pid {pid})", step.component));
        tokio::time::sleep(step.down_for).await;
        let took = stack.start_component(step.component).await?;
        event(format!(
            "restarted {} (pid {}), healthy after {:.1} s",
            step.component,
            stack.pid(step.component).unwrap_or(0),
            took.as_secs_f64()
        ));
    }
    let load = load_task
        .await
        .map_err(|e| Error::Io(std::io::Error::other(format!("load task: {e}"))))??;
    event("load finished".into());
    Ok(ChaosOutcome { load, events })
}
