//! docker-compose.yml against the workspace: every app service runs a binary the workspace
//! builds and the image contains; every variable it sets is one that binary reads (its
//! `--help` lists it); ports and health checks agree with the listen settings; addresses name
//! services that exist and are started first; and the native launcher (`scripts/stack` →
//! `seckill-stack`) runs each binary with the same variables and values, up to host names.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use loadtest::stack::{Component, StackSpec, build_stack_binaries, target_profile_dir};
use serde_norway::Value;

/// Variables a binary reads without clap (the log filter of tracing-subscriber).
const NOT_CLAP: [&str; 1] = ["RUST_LOG"];
/// Variables holding a path whose place differs by design (a volume in compose, a directory
/// under target/ natively).
const HOST_PATHS: [&str; 1] = ["MQ_STORE_DIR"];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

struct Service {
    name: String,
    value: Value,
}

impl Service {
    fn command(&self) -> Vec<String> {
        match self.value.get("command") {
            Some(Value::Sequence(items)) => items
                .iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect(),
            Some(Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
            _ => Vec::new(),
        }
    }

    fn env(&self) -> BTreeMap<String, String> {
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
    fn container_ports(&self) -> BTreeSet<u16> {
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

    fn healthcheck(&self) -> Vec<String> {
        match self.value.get("healthcheck").and_then(|h| h.get("test")) {
            Some(Value::Sequence(items)) => items
                .iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect(),
            Some(Value::String(s)) => vec!["CMD-SHELL".into(), s.clone()],
            _ => Vec::new(),
        }
    }

    fn depends_on(&self) -> BTreeSet<String> {
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
    fn is_app(&self) -> bool {
        self.value.get("build").is_some() && !self.is_one_shot()
    }

    /// A job built from the workspace that runs once (`restart: "no"`).
    fn is_one_shot(&self) -> bool {
        self.value.get("build").is_some()
            && self.value.get("restart").and_then(Value::as_str) == Some("no")
    }

    /// `depends_on` conditions by service.
    fn depends_on_conditions(&self) -> BTreeMap<String, String> {
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

fn compose() -> BTreeMap<String, Service> {
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

fn app_services() -> Vec<Service> {
    let apps: Vec<Service> = compose().into_values().filter(Service::is_app).collect();
    assert!(
        apps.len() >= 4,
        "expected the four app services, got {:?}",
        apps.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    apps
}

/// The binaries of the workspace's packages, from `cargo metadata`.
fn workspace_binaries() -> BTreeSet<String> {
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
fn image_binaries() -> BTreeSet<String> {
    let text = std::fs::read_to_string(workspace().join("Dockerfile")).unwrap();
    text.split_whitespace()
        .filter_map(|w| w.strip_prefix("target/release/"))
        .map(str::to_owned)
        .collect()
}

fn help(binary: &str) -> String {
    help_of(&[binary])
}

/// `--help` of a binary or subcommand (`["mqadmin", "updateTopic"]`).
fn help_of(command: &[&str]) -> String {
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

fn built_binaries() {
    static BUILT: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime
            .block_on(build_stack_binaries(&target_profile_dir().unwrap()))
            .unwrap();
    });
}

/// `host:port` → port, for a listen or peer address.
fn port_of(addr: &str) -> u16 {
    addr.rsplit(':').next().unwrap().parse().unwrap()
}

/// Host and port of an address or URL (`mysql://u:p@mysql:3306/db` → `mysql`, 3306).
fn host_port(value: &str) -> Option<(String, u16)> {
    let rest = value.split_once("://").map_or(value, |(_, r)| r);
    let authority = rest.split('/').next()?;
    let host_port = authority.rsplit('@').next()?;
    let (host, port) = host_port.rsplit_once(':')?;
    Some((host.to_owned(), port.parse().ok()?))
}

fn host_of(value: &str) -> Option<String> {
    host_port(value).map(|(h, _)| h)
}

/// `value` with every host name replaced by `<host>` (`;`-separated lists too).
fn without_hosts(value: &str) -> String {
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

#[test]
fn every_app_service_runs_a_binary_of_the_workspace_that_the_image_contains() {
    let binaries = workspace_binaries();
    let image = image_binaries();
    for service in app_services() {
        let command = service.command();
        let binary = command
            .first()
            .unwrap_or_else(|| panic!("{}: no command", service.name));
        assert!(
            binaries.contains(binary),
            "{}: command {binary} is not a binary of the workspace {binaries:?}",
            service.name
        );
        assert!(
            image.contains(binary),
            "{}: the Dockerfile does not copy {binary} into the image ({image:?})",
            service.name
        );
        let health = service.healthcheck();
        let health_tool = health
            .get(1)
            .and_then(|cmd| cmd.split_whitespace().next())
            .unwrap_or_else(|| panic!("{}: no healthcheck", service.name));
        assert!(
            health_tool == "curl" || image.contains(health_tool),
            "{}: healthcheck runs {health_tool}, which the image lacks",
            service.name
        );
    }
    let dockerfile = std::fs::read_to_string(workspace().join("Dockerfile")).unwrap();
    assert!(
        dockerfile.contains("curl"),
        "the HTTP healthchecks need curl in the image"
    );
}

#[test]
fn every_variable_an_app_service_sets_is_read_by_its_binary() {
    built_binaries();
    for service in app_services() {
        let command = service.command();
        let binary = &command[0];
        let help = help(binary);
        for key in service.env().keys() {
            if NOT_CLAP.contains(&key.as_str()) {
                continue;
            }
            assert!(
                help.contains(&format!("[env: {key}=")) || help.contains(&format!("[env: {key}]")),
                "{}: sets {key}, but `{binary} --help` does not list it:\n{help}",
                service.name
            );
        }
    }
}

#[test]
fn ports_and_healthchecks_agree_with_the_listen_settings() {
    let services = compose();
    // Each app service listens on 0.0.0.0 (reachable from other containers) and publishes
    // exactly that port.
    let mut listen_port = BTreeMap::new();
    for service in services.values().filter(|s| s.is_app()) {
        let env = service.env();
        let listens: Vec<(&String, &String)> =
            env.iter().filter(|(k, _)| k.ends_with("_LISTEN")).collect();
        assert_eq!(listens.len(), 1, "{}: one *_LISTEN setting", service.name);
        let (key, addr) = listens[0];
        assert!(
            addr.starts_with("0.0.0.0:"),
            "{}: {key}={addr} must listen on 0.0.0.0 inside a container",
            service.name
        );
        let port = port_of(addr);
        assert_eq!(
            service.container_ports(),
            BTreeSet::from([port]),
            "{}: publishes other ports than {key}",
            service.name
        );
        listen_port.insert(service.name.clone(), port);

        let health = service.healthcheck().join(" ");
        if health.contains("curl") {
            let want = format!("http://127.0.0.1:{port}/healthz");
            assert!(
                health.contains(&want),
                "{}: healthcheck `{health}` does not probe {want}",
                service.name
            );
        }
        if health.contains("mqadmin") {
            // mqadmin -n <name server>: this container's own port or the name server service.
            let words: Vec<&str> = health.split_whitespace().collect();
            let n = words.iter().position(|w| *w == "-n").unwrap();
            let addr = words[n + 1];
            let host = host_of(addr).unwrap();
            let target = if host == "127.0.0.1" {
                service.name.clone()
            } else {
                host
            };
            assert_eq!(
                services[&target]
                    .env()
                    .get("MQ_NAMESRV_LISTEN")
                    .map(|a| port_of(a)),
                Some(port_of(addr)),
                "{}: healthcheck asks {addr}, which is not a name server",
                service.name
            );
        }
    }
    // The broker is healthy once its route is in the name server (as scripts/stack waits).
    let broker = &services["mq-broker"];
    let health = broker.healthcheck().join(" ");
    let name = &broker.env()["MQ_BROKER_NAME"];
    assert!(
        health.contains("clusterList") && health.contains(name.as_str()),
        "mq-broker: healthcheck `{health}` must look for {name} in the name server's routes"
    );

    // Every address names a service that exists, on the port it listens on or publishes,
    // and that service is started before (depends_on, transitively).
    for service in services.values().filter(|s| s.is_app()) {
        for (key, value) in service.env() {
            if key.ends_with("_LISTEN") {
                continue;
            }
            for part in value.split(';') {
                let Some((host, port)) = host_port(part) else {
                    continue;
                };
                let target = services.get(&host).unwrap_or_else(|| {
                    panic!("{}: {key} names {host}, no such service", service.name)
                });
                // An app service's listen port, else the port the image serves (published).
                let expected = listen_port
                    .get(&host)
                    .copied()
                    .or_else(|| target.container_ports().into_iter().next())
                    .unwrap_or_else(|| panic!("{host}: no port known"));
                assert_eq!(
                    port, expected,
                    "{}: {key}={value}: wrong port for {host}",
                    service.name
                );
                assert!(
                    depends_transitively(&services, &service.name, &host),
                    "{}: uses {host} but does not (transitively) depend on it",
                    service.name
                );
            }
        }
    }
}

fn depends_transitively(services: &BTreeMap<String, Service>, from: &str, target: &str) -> bool {
    let mut seen = BTreeSet::new();
    let mut todo = vec![from.to_owned()];
    while let Some(name) = todo.pop() {
        for dep in services[&name].depends_on() {
            assert!(
                services.contains_key(&dep),
                "{name} depends on unknown {dep}"
            );
            if dep == target {
                return true;
            }
            if seen.insert(dep.clone()) {
                todo.push(dep);
            }
        }
    }
    false
}

#[test]
fn the_native_launcher_uses_the_same_variables_and_values_up_to_host_names() {
    let spec = StackSpec::local_default("/unused", "/unused");
    let services = compose();
    for component in Component::ALL {
        let service = services
            .get(component.binary())
            .unwrap_or_else(|| panic!("docker-compose.yml has no service {component}"));
        assert_eq!(service.command()[0], component.binary());
        let compose_env = service.env();
        let native: BTreeMap<String, String> = spec.env(component).into_iter().collect();
        assert_eq!(
            compose_env.keys().collect::<Vec<_>>(),
            native.keys().collect::<Vec<_>>(),
            "{component}: docker-compose.yml and seckill-stack set different variables"
        );
        for (key, compose_value) in &compose_env {
            if HOST_PATHS.contains(&key.as_str()) {
                continue;
            }
            assert_eq!(
                without_hosts(compose_value),
                without_hosts(&native[key]),
                "{component}: {key} differs beyond host names"
            );
        }
    }
    // And the broker's store really is the compose volume.
    let broker = &services["mq-broker"];
    let store = &broker.env()["MQ_STORE_DIR"];
    let volumes = format!("{:?}", broker.value.get("volumes"));
    assert!(
        volumes.contains(&format!(":{store}")),
        "mq-broker: {store} is not a volume"
    );
}

#[test]
fn the_topic_job_creates_the_launchers_topics_before_the_services_start() {
    built_binaries();
    let services = compose();
    let jobs: Vec<&Service> = services.values().filter(|s| s.is_one_shot()).collect();
    assert_eq!(jobs.len(), 1, "one topic job expected");
    let job = jobs[0];
    let command = job.command();
    assert_eq!(&command[..2], ["mqadmin", "updateTopic"]);
    assert!(image_binaries().contains("mqadmin"));
    let help = help_of(&["mqadmin", "updateTopic"]);
    let arg = |flag: &str| {
        assert!(
            help.contains(&format!("{flag}, ")),
            "mqadmin updateTopic has no {flag}"
        );
        let at = command
            .iter()
            .position(|a| a == flag)
            .unwrap_or_else(|| panic!("{}: no {flag} in {command:?}", job.name));
        command[at + 1].clone()
    };
    let namesrv = arg("-n");
    let (host, port) = host_port(&namesrv).unwrap();
    assert_eq!(
        services[&host]
            .env()
            .get("MQ_NAMESRV_LISTEN")
            .map(|a| port_of(a)),
        Some(port),
        "{}: -n {namesrv} is not the name server",
        job.name
    );
    let spec = StackSpec::local_default("/unused", "/unused");
    assert_eq!(
        spec.topics,
        [(arg("-t"), arg("-q").parse::<i32>().unwrap())],
        "the launcher and docker-compose.yml create different topics"
    );
    assert_eq!(
        job.depends_on_conditions()
            .get("mq-broker")
            .map(String::as_str),
        Some("service_healthy")
    );
    assert_eq!(
        services["seckill-service"]
            .depends_on_conditions()
            .get(&job.name)
            .map(String::as_str),
        Some("service_completed_successfully"),
        "seckill-service must wait for the topic"
    );
}

#[test]
fn host_names_are_recognised_in_every_address_form() {
    assert_eq!(
        host_of("mysql://seckill:seckill@mysql:3306/seckill").as_deref(),
        Some("mysql")
    );
    assert_eq!(host_of("redis://redis:6379").as_deref(), Some("redis"));
    assert_eq!(host_of("mq-namesrv:9876").as_deref(), Some("mq-namesrv"));
    assert_eq!(host_of("ASYNC_FLUSH"), None);
    assert_eq!(
        without_hosts("mysql://u:p@127.0.0.1:3306/seckill"),
        without_hosts("mysql://u:p@mysql:3306/seckill")
    );
    assert_eq!(
        without_hosts("mysql://u:p@mysql:3306/seckill"),
        "mysql://u:p@<host>:3306/seckill"
    );
    assert_ne!(without_hosts("a:9876"), without_hosts("a:9877"));
    assert_eq!(without_hosts("a:1;b:2"), "<host>:1;<host>:2");
}
