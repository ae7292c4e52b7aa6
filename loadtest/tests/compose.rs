//! docker-compose.yml against the workspace: every app service runs a binary the workspace
//! builds and the image contains; every variable it sets is one that binary reads (its
//! `--help` lists it); ports and health checks agree with the listen settings; addresses name
//! services that exist and are started first; and the native launcher (`scripts/stack` →
//! `seckill-stack`) runs each binary with the same variables and values, up to host names.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod compose_support;

use std::collections::{BTreeMap, BTreeSet};

use compose_support::*;
use loadtest::stack::{Component, StackSpec};

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
