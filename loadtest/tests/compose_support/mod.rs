//! What the docker-compose tests read: the compose file's services, the workspace's and the
//! image's binaries, each binary's `--help`, and address parsing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use loadtest::stack::{build_stack_binaries, target_profile_dir};
use serde_norway::Value;

/// Variables a binary reads without clap (the log filter of tracing-subscriber).
pub const NOT_CLAP: [&str; 1] = ["RUST_LOG"];
/// Variables holding a path whose place differs by design (a volume in compose, a directory
/// under target/ natively).
pub const HOST_PATHS: [&str; 1] = ["MQ_STORE_DIR"];

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

pub struct Service {
    pub name: String,
    pub value: Value,
}

impl Service {
    pub fn command(&self) -> Vec<String> {
        match self.value.get("command") {
            Some(Value::Sequence(items)) => items
                .iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect(),
            Some(Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
            _ => Vec::new(),
        }
    }

    pub fn env(&self) -> BTreeMap<String, String> {
        match self.value.get("environment") {
            Some(Value::Mapping(map)) => map
                .iter()
                .map(|(k, v)| {
                    let value = match v {
                        Value::String(s) => s.clone(),
                        Value::Number(n) => n.to_string(),
                        Value::Bool(b) => b.to_string(),
                        other => panic!("{}: odd environment value {other:?}", self.name),
                    };
                    (k.as_str().unwrap().to_owned(), value)
                })
                .collect(),
            Some(Value::Sequence(items)) => items
                .iter()
                .map(|i| {
                    let (k, v) = i.as_str().unwrap().split_once('=').unwrap();
                    (k.to_owned(), v.to_owned())
                })
                .collect(),
            None => BTreeMap::new(),
            other => panic!("{}: odd environment {other:?}", self.name),
        }
    }

    /// Container ports published (`"host:container"` → container).
    pub fn container_ports(&self) -> BTreeSet<u16> {
        let Some(Value::Sequence(ports)) = self.value.get("ports") else {
            return BTreeSet::new();
        };
        ports
            .iter()
            .map(|p| {
                let text = match p {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    other => panic!("{}: odd port {other:?}", self.name),
                };
                text.rsplit(':').next().unwrap().parse().unwrap()
            })
            .collect()
    }

    pub fn healthcheck(&self) -> Vec<String> {
        match self.value.get("healthcheck").and_then(|h| h.get("test")) {
            Some(Value::Sequence(items)) => items
                .iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect(),
            Some(Value::String(s)) => vec!["CMD-SHELL".into(), s.clone()],
            _ => Vec::new(),
        }
    }

    pub fn depends_on(&self) -> BTreeSet<String> {
        match self.value.get("depends_on") {
            Some(Value::Mapping(map)) => {
                map.keys().map(|k| k.as_str().unwrap().to_owned()).collect()
            }
            Some(Value::Sequence(items)) => items
                .iter()
                .map(|k| k.as_str().unwrap().to_owned())
                .collect(),
            _ => BTreeSet::new(),
        }
    }

    /// A long-running service built from the workspace.
    pub fn is_app(&self) -> bool {
        self.value.get("build").is_some() && !self.is_one_shot()
    }

    /// A job built from the workspace that runs once (`restart: "no"`).
    pub fn is_one_shot(&self) -> bool {
        self.value.get("build").is_some()
            && self.value.get("restart").and_then(Value::as_str) == Some("no")
    }

    /// `depends_on` conditions by service.
    pub fn depends_on_conditions(&self) -> BTreeMap<String, String> {
        match self.value.get("depends_on") {
            Some(Value::Mapping(map)) => map
                .iter()
                .map(|(k, v)| {
                    let condition = v
                        .get("condition")
                        .and_then(Value::as_str)
                        .unwrap_or("service_started");
                    (k.as_str().unwrap().to_owned(), condition.to_owned())
                })
                .collect(),
            _ => BTreeMap::new(),
        }
    }
}

pub fn compose() -> BTreeMap<String, Service> {
    let text = std::fs::read_to_string(workspace().join("docker-compose.yml")).unwrap();
    let mut doc: Value = serde_norway::from_str(&text).unwrap();
    doc.apply_merge().unwrap();
    let Some(Value::Mapping(services)) = doc.get("services") else {
        panic!("docker-compose.yml has no services");
    };
    let mut out = BTreeMap::new();
    for (name, value) in services {
        let mut value = value.clone();
        value.apply_merge().unwrap();
        let name = name.as_str().unwrap().to_owned();
        out.insert(name.clone(), Service { name, value });
    }
    out
}

pub fn app_services() -> Vec<Service> {
    let apps: Vec<Service> = compose().into_values().filter(Service::is_app).collect();
    assert!(
        apps.len() >= 4,
        "expected the four app services, got {:?}",
        apps.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    apps
}

/// The binaries of the workspace's packages, from `cargo metadata`.
pub fn workspace_binaries() -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(workspace())
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .output()
        .unwrap();
    assert!(output.status.success(), "cargo metadata failed");
    let meta: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["targets"].as_array().unwrap())
        .filter(|t| t["kind"].as_array().unwrap().iter().any(|k| k == "bin"))
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

/// The binaries the Dockerfile copies into the image (`cp target/release/<bin> …`).
pub fn image_binaries() -> BTreeSet<String> {
    let text = std::fs::read_to_string(workspace().join("Dockerfile")).unwrap();
    text.split_whitespace()
        .filter_map(|w| w.strip_prefix("target/release/"))
        .map(str::to_owned)
        .collect()
}

pub fn help(binary: &str) -> String {
    help_of(&[binary])
}

/// `--help` of a binary or subcommand (`["mqadmin", "updateTopic"]`).
pub fn help_of(command: &[&str]) -> String {
    let binary = command[0];
    let path = target_profile_dir().unwrap().join(binary);
    // No inherited variables, so `--help` shows every `[env: NAME=]` without values.
    let output = Command::new(&path)
        .args(&command[1..])
        .arg("--help")
        .env_clear()
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(output.status.success(), "{binary} --help failed");
    String::from_utf8(output.stdout).unwrap()
}

pub fn built_binaries() {
    static BUILT: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime
            .block_on(build_stack_binaries(&target_profile_dir().unwrap()))
            .unwrap();
    });
}

/// `host:port` → port, for a listen or peer address.
pub fn port_of(addr: &str) -> u16 {
    addr.rsplit(':').next().unwrap().parse().unwrap()
}

/// Host and port of an address or URL (`mysql://u:p@mysql:3306/db` → `mysql`, 3306).
pub fn host_port(value: &str) -> Option<(String, u16)> {
    let rest = value.split_once("://").map_or(value, |(_, r)| r);
    let authority = rest.split('/').next()?;
    let host_port = authority.rsplit('@').next()?;
    let (host, port) = host_port.rsplit_once(':')?;
    Some((host.to_owned(), port.parse().ok()?))
}

pub fn host_of(value: &str) -> Option<String> {
    host_port(value).map(|(h, _)| h)
}

/// `value` with every host name replaced by `<host>` (`;`-separated lists too).
pub fn without_hosts(value: &str) -> String {
    value
        .split(';')
        .map(|part| {
            let (scheme, rest) = match part.split_once("://") {
                Some((scheme, rest)) => (format!("{scheme}://"), rest),
                None => (String::new(), part),
            };
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let (user, host_port) = match authority.rsplit_once('@') {
                Some((user, hp)) => (format!("{user}@"), hp),
                None => (String::new(), authority),
            };
            match host_port.rsplit_once(':') {
                Some((_, port)) if port.parse::<u16>().is_ok() => {
                    format!("{scheme}{user}<host>:{port}{path}")
                }
                _ => part.to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join(";")
}
