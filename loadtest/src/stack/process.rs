//! [`Stack`]: the four processes as children of this one.
//!
//! Each child runs in a process group of its own, so a Ctrl-C in the launcher's terminal
//! reaches only the launcher, which then stops the children in order (web first, name server
//! last) with SIGTERM and waits for each. Children are also killed when the [`Stack`] is
//! dropped (a failed test never leaves a broker behind). stdout and stderr go, appended, to
//! `work_dir/logs/<binary>.log`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::process::{Child, Command};

use super::health::probe;
use super::{Component, StackSpec};
use crate::error::{Error, Result};

/// How long a component gets to become healthy (debug builds, migrations, a broker
/// recovering its store after `kill -9`).
const READY_TIMEOUT: Duration = Duration::from_secs(90);
/// Pause between health probes.
const PROBE_PAUSE: Duration = Duration::from_millis(100);
/// Log lines quoted when a process fails to start.
const LOG_TAIL_LINES: usize = 15;

/// The running stack; see the module docs.
#[derive(Debug)]
pub struct Stack {
    spec: StackSpec,
    children: BTreeMap<Component, Child>,
    http: reqwest::Client,
}

impl Stack {
    /// Starts every component in order, each waited for until healthy.
    pub async fn start(spec: StackSpec) -> Result<Self> {
        let mut stack = Self::new(spec)?;
        for component in Component::ALL {
            stack.start_component(component).await?;
        }
        Ok(stack)
    }

    /// A stack with nothing started yet (creates the log and store directories).
    pub fn new(spec: StackSpec) -> Result<Self> {
        for dir in [spec.log_dir(), spec.store_dir()] {
            std::fs::create_dir_all(&dir).map_err(|source| Error::File { path: dir, source })?;
        }
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(3))
            .build()?;
        Ok(Self {
            spec,
            children: BTreeMap::new(),
            http,
        })
    }

    /// The settings this stack runs with.
    pub fn spec(&self) -> &StackSpec {
        &self.spec
    }

    /// The process id of a running component.
    pub fn pid(&self, component: Component) -> Option<u32> {
        self.children.get(&component).and_then(Child::id)
    }

    /// Starts `component` (which must not be running) and waits until it is healthy;
    /// answers how long that took.
    pub async fn start_component(&mut self, component: Component) -> Result<Duration> {
        if self.children.contains_key(&component) {
            return Err(Error::Process {
                component: component.binary(),
                reason: "already running".into(),
            });
        }
        let started = Instant::now();
        let child = self.spawn(component)?;
        self.children.insert(component, child);
        self.wait_healthy(component, started).await?;
        if component == Component::Broker {
            self.create_topics().await?;
        }
        Ok(started.elapsed())
    }

    fn spawn(&self, component: Component) -> Result<Child> {
        let binary = self.spec.bin_dir.join(component.binary());
        if !binary.is_file() {
            return Err(Error::Process {
                component: component.binary(),
                reason: format!("{} not found (build it first)", binary.display()),
            });
        }
        let log_path = self.spec.log_file(component);
        let open = || {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log_path)
                .map_err(|source| Error::File {
                    path: log_path.clone(),
                    source,
                })
        };
        let mut log = open()?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        std::io::Write::write_all(
            &mut log,
            format!(
                "==== {} starting (unix time {now}) ====\n",
                component.binary()
            )
            .as_bytes(),
        )
        .map_err(|source| Error::File {
            path: log_path.clone(),
            source,
        })?;
        let mut cmd = Command::new(&binary);
        // A clean environment: only what the spec says, so a variable in the caller's shell
        // (a stray SECKILL_REDIS_KEY_PREFIX) cannot change what runs.
        cmd.env_clear();
        for key in ["PATH", "HOME", "TMPDIR"] {
            if let Some(value) = std::env::var_os(key) {
                cmd.env(key, value);
            }
        }
        cmd.env("RUST_LOG", &self.spec.rust_log)
            .envs(self.spec.env(component))
            .current_dir(&self.spec.work_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(open()?))
            .process_group(0)
            .kill_on_drop(true);
        cmd.spawn().map_err(|e| Error::Process {
            component: component.binary(),
            reason: format!("cannot start {}: {e}", binary.display()),
        })
    }

    async fn wait_healthy(&mut self, component: Component, started: Instant) -> Result<()> {
        loop {
            if let Some(child) = self.children.get_mut(&component) {
                if let Some(status) = child.try_wait()? {
                    self.children.remove(&component);
                    return Err(Error::Process {
                        component: component.binary(),
                        reason: format!(
                            "exited during start-up ({status}); last lines of {}:\n{}",
                            self.spec.log_file(component).display(),
                            log_tail(&self.spec.log_file(component))
                        ),
                    });
                }
            }
            let last = match probe(&self.spec, component, &self.http).await {
                Ok(()) => return Ok(()),
                Err(why) => why,
            };
            if started.elapsed() > READY_TIMEOUT {
                return Err(Error::Process {
                    component: component.binary(),
                    reason: format!(
                        "not healthy after {READY_TIMEOUT:?}: {last}; last lines of {}:\n{}",
                        self.spec.log_file(component).display(),
                        log_tail(&self.spec.log_file(component))
                    ),
                });
            }
            tokio::time::sleep(PROBE_PAUSE).await;
        }
    }

    /// Creates the spec's topics (idempotent: an existing topic is updated to the same).
    async fn create_topics(&self) -> Result<()> {
        if self.spec.topics.is_empty() {
            return Ok(());
        }
        let admin = mq_core::client::Admin::connect(self.spec.namesrv_addr()).await?;
        for (topic, queues) in &self.spec.topics {
            admin.create_topic(topic, *queues).await?;
        }
        Ok(())
    }

    /// `kill -9` of `component`; waits until it is gone.
    pub async fn kill9(&mut self, component: Component) -> Result<()> {
        let mut child = self.take(component)?;
        child.kill().await?;
        Ok(())
    }

    /// Graceful stop: SIGTERM, then up to `grace` for the process to exit, then SIGKILL.
    /// Answers the exit status (`None` when it had to be killed).
    pub async fn stop_component(
        &mut self,
        component: Component,
        grace: Duration,
    ) -> Result<Option<ExitStatus>> {
        let mut child = self.take(component)?;
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if let Some(pid) = child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .and_then(rustix::process::Pid::from_raw)
        {
            // The process may have exited since try_wait; ESRCH then is harmless.
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        match tokio::time::timeout(grace, child.wait()).await {
            Ok(status) => Ok(Some(status?)),
            Err(_) => {
                child.kill().await?;
                Ok(None)
            }
        }
    }

    /// Stops every running component in reverse start order (web first, name server last).
    pub async fn shutdown(
        &mut self,
        grace: Duration,
    ) -> Vec<(Component, Result<Option<ExitStatus>>)> {
        let mut out = Vec::new();
        for component in Component::ALL.into_iter().rev() {
            if self.children.contains_key(&component) {
                out.push((component, self.stop_component(component, grace).await));
            }
        }
        out
    }

    /// Waits until some running component exits on its own; answers which, and how.
    pub async fn wait_any_exit(&mut self) -> (Component, Result<ExitStatus>) {
        loop {
            for (component, child) in &mut self.children {
                match child.try_wait() {
                    Ok(Some(status)) => {
                        let component = *component;
                        self.children.remove(&component);
                        return (component, Ok(status));
                    }
                    Ok(None) => {}
                    Err(e) => {
                        let component = *component;
                        self.children.remove(&component);
                        return (component, Err(e.into()));
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    fn take(&mut self, component: Component) -> Result<Child> {
        self.children
            .remove(&component)
            .ok_or_else(|| Error::Process {
                component: component.binary(),
                reason: "not running".into(),
            })
    }
}

/// The last lines of a log file, for start-up errors.
pub(crate) fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let from = lines.len().saturating_sub(LOG_TAIL_LINES);
    lines[from..].join("\n")
}
