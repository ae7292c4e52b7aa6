//! The whole seckill stack as child processes: name server, broker, seckill-service and
//! seckill-web, started in that order, each waited for until healthy, stopped in reverse.
//!
//! Used by `seckill-stack` (the README's one-command launcher), the e2e tests and
//! `seckill-chaos` (which `kill -9`s and restarts processes mid-run).
//!
//! | module | owns |
//! |---|---|
//! | this file | [`Component`] and [`StackSpec`]: which binary, which environment — the one table of settings the launcher shares with `docker-compose.yml` (tests/compose.rs compares them) |
//! | `process` | [`Stack`]: spawning, health waits, `kill -9`, restart, graceful stop |
//! | `health` | what "healthy" means per component |
//! | `database` | a scratch MySQL database per test run |
//! | `binaries` | finding (and, for tests, building) the workspace's binaries |
//! | `sandbox` | [`Sandbox`]: an isolated stack (own ports, database, key prefix) for tests and chaos |

mod binaries;
mod database;
mod health;
mod process;
mod sandbox;

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub use binaries::{build_stack_binaries, target_profile_dir};
pub use database::ScratchDatabase;
pub use process::Stack;
pub use sandbox::{Sandbox, delete_redis_prefix};

/// The default MySQL of SPEC §2.
pub const DEFAULT_DATABASE_URL: &str = "mysql://seckill:seckill@127.0.0.1:3306/seckill";
/// The default Redis of SPEC §2.
pub const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";

/// One process of the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Component {
    /// `mq-namesrv`.
    Namesrv,
    /// `mq-broker`.
    Broker,
    /// `seckill-service`.
    Service,
    /// `seckill-web`.
    Web,
}

impl Component {
    /// Start order; stop order is the reverse.
    pub const ALL: [Self; 4] = [Self::Namesrv, Self::Broker, Self::Service, Self::Web];

    /// The binary, which is also the service name in `docker-compose.yml`.
    pub fn binary(self) -> &'static str {
        match self {
            Self::Namesrv => "mq-namesrv",
            Self::Broker => "mq-broker",
            Self::Service => "seckill-service",
            Self::Web => "seckill-web",
        }
    }

    /// The component whose binary (= compose service) is `name`.
    pub fn from_binary(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.binary() == name)
    }
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.binary())
    }
}

/// Everything that differs between one stack and another: ports, data locations, the
/// databases, the Redis key prefix.
#[derive(Debug, Clone)]
pub struct StackSpec {
    /// Where `mq-namesrv`, `mq-broker`, `seckill-service`, `seckill-web` are.
    pub bin_dir: PathBuf,
    /// Logs go to `work_dir/logs/<binary>.log`, the broker store to `work_dir/data/broker`.
    pub work_dir: PathBuf,
    /// Every process listens on this IP.
    pub listen_ip: String,
    /// Name server port.
    pub namesrv_port: u16,
    /// Broker port.
    pub broker_port: u16,
    /// seckill-service HTTP port.
    pub service_port: u16,
    /// seckill-web HTTP port.
    pub web_port: u16,
    /// MySQL of seckill-service.
    pub database_url: String,
    /// Redis of both services.
    pub redis_url: String,
    /// `SECKILL_REDIS_KEY_PREFIX` for both services; `None` leaves their default (`seckill`).
    pub redis_key_prefix: Option<String>,
    /// `RUST_LOG` of every process.
    pub rust_log: String,
    /// More variables per component (e.g. `MQ_DELAY_LEVELS` shortened for tests).
    pub extra_env: Vec<(Component, String, String)>,
    /// Topics created (or updated) with this many queues once the broker is healthy, before
    /// the services start — the deployment step `mqadmin updateTopic` (the `mq-topics` service
    /// of docker-compose.yml). Without it seckill-service subscribes to a topic that does not
    /// exist yet and only finds it at its next route poll, up to 30 s after the first order.
    pub topics: Vec<(String, i32)>,
}

impl StackSpec {
    /// The stack on SPEC §2's ports and default MySQL/Redis URLs: what `scripts/stack` runs.
    /// Every process listens on 127.0.0.1 (a developer's machine, nothing exposed).
    pub fn local_default(bin_dir: impl Into<PathBuf>, work_dir: impl Into<PathBuf>) -> Self {
        Self {
            bin_dir: bin_dir.into(),
            work_dir: work_dir.into(),
            listen_ip: "127.0.0.1".into(),
            namesrv_port: 9876,
            broker_port: 10911,
            service_port: 8082,
            web_port: 8081,
            database_url: DEFAULT_DATABASE_URL.into(),
            redis_url: DEFAULT_REDIS_URL.into(),
            redis_key_prefix: None,
            rust_log: "info".into(),
            extra_env: Vec::new(),
            topics: vec![(seckill_order::message::ORDER_TOPIC.to_owned(), 4)],
        }
    }

    /// A stack of its own for a test: free ports on 127.0.0.1, the given database and key
    /// prefix, the store and logs under `work_dir`.
    pub fn isolated(
        bin_dir: impl Into<PathBuf>,
        work_dir: impl Into<PathBuf>,
        database_url: &str,
        redis_key_prefix: &str,
    ) -> crate::Result<Self> {
        let mut spec = Self::local_default(bin_dir, work_dir);
        let ports = free_ports(4)?;
        spec.namesrv_port = ports[0];
        spec.broker_port = ports[1];
        spec.service_port = ports[2];
        spec.web_port = ports[3];
        database_url.clone_into(&mut spec.database_url);
        spec.redis_key_prefix = Some(redis_key_prefix.to_owned());
        Ok(spec)
    }

    /// `host:port` clients use to reach the name server.
    pub fn namesrv_addr(&self) -> String {
        format!("{}:{}", connect_ip(&self.listen_ip), self.namesrv_port)
    }

    /// `host:port` of the broker.
    pub fn broker_addr(&self) -> String {
        format!("{}:{}", connect_ip(&self.listen_ip), self.broker_port)
    }

    /// Base URL of seckill-web.
    pub fn web_url(&self) -> String {
        format!("http://{}:{}", connect_ip(&self.listen_ip), self.web_port)
    }

    /// Base URL of seckill-service.
    pub fn service_url(&self) -> String {
        format!(
            "http://{}:{}",
            connect_ip(&self.listen_ip),
            self.service_port
        )
    }

    /// The broker's store directory.
    pub fn store_dir(&self) -> PathBuf {
        self.work_dir.join("data").join("broker")
    }

    /// The directory of the process logs.
    pub fn log_dir(&self) -> PathBuf {
        self.work_dir.join("logs")
    }

    /// The log file of `component`.
    pub fn log_file(&self, component: Component) -> PathBuf {
        self.log_dir().join(format!("{}.log", component.binary()))
    }

    /// The Redis key prefix the services use.
    pub fn key_prefix(&self) -> &str {
        self.redis_key_prefix
            .as_deref()
            .unwrap_or(seckill_order::keys::DEFAULT_PREFIX)
    }

    /// The environment `component` runs with — the same variables, with the same values up to
    /// host names, as its service in `docker-compose.yml` (tests/compose.rs checks it).
    pub fn env(&self, component: Component) -> Vec<(String, String)> {
        let listen = |port: u16| format!("{}:{port}", self.listen_ip);
        let mut env: Vec<(&str, String)> = match component {
            Component::Namesrv => vec![("MQ_NAMESRV_LISTEN", listen(self.namesrv_port))],
            Component::Broker => vec![
                ("MQ_BROKER_LISTEN", listen(self.broker_port)),
                ("MQ_NAMESRV_ADDR", self.namesrv_addr()),
                ("MQ_STORE_DIR", path_string(&self.store_dir())),
                ("MQ_FLUSH_DISK_TYPE", "ASYNC_FLUSH".into()),
                ("MQ_BROKER_NAME", "broker-a".into()),
            ],
            Component::Service => vec![
                ("SECKILL_SERVICE_LISTEN", listen(self.service_port)),
                ("DATABASE_URL", self.database_url.clone()),
                ("REDIS_URL", self.redis_url.clone()),
                ("MQ_NAMESRV_ADDR", self.namesrv_addr()),
            ],
            Component::Web => vec![
                ("SECKILL_WEB_LISTEN", listen(self.web_port)),
                ("REDIS_URL", self.redis_url.clone()),
                ("MQ_NAMESRV_ADDR", self.namesrv_addr()),
            ],
        };
        if let (Some(prefix), Component::Service | Component::Web) =
            (&self.redis_key_prefix, component)
        {
            env.push(("SECKILL_REDIS_KEY_PREFIX", prefix.clone()));
        }
        let mut env: Vec<(String, String)> =
            env.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        for (c, key, value) in &self.extra_env {
            if *c == component {
                env.retain(|(k, _)| k != key);
                env.push((key.clone(), value.clone()));
            }
        }
        env
    }
}

/// The address to connect to for a listen IP (`0.0.0.0` listens everywhere, connect locally).
fn connect_ip(listen_ip: &str) -> &str {
    match listen_ip {
        "0.0.0.0" | "" => "127.0.0.1",
        ip => ip,
    }
}

fn path_string(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// `n` distinct ports that were free on 127.0.0.1 a moment ago (the listeners are held until
/// all are picked, so they differ from each other).
pub fn free_ports(n: usize) -> crate::Result<Vec<u16>> {
    let listeners = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0"))
        .collect::<std::io::Result<Vec<_>>>()?;
    listeners
        .iter()
        .map(|l| {
            l.local_addr()
                .map(|a: SocketAddr| a.port())
                .map_err(Into::into)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_local_stack_uses_the_spec_ports_and_urls() {
        let spec = StackSpec::local_default("/bin", "/w");
        let web: Vec<_> = spec.env(Component::Web);
        assert!(web.contains(&("SECKILL_WEB_LISTEN".into(), "127.0.0.1:8081".into())));
        assert!(web.contains(&("MQ_NAMESRV_ADDR".into(), "127.0.0.1:9876".into())));
        let svc = spec.env(Component::Service);
        assert!(svc.contains(&("DATABASE_URL".into(), DEFAULT_DATABASE_URL.into())));
        assert!(!svc.iter().any(|(k, _)| k == "SECKILL_REDIS_KEY_PREFIX"));
        assert_eq!(spec.store_dir(), PathBuf::from("/w/data/broker"));
    }

    #[test]
    fn an_isolated_stack_has_its_own_ports_and_prefix() {
        let spec =
            StackSpec::isolated("/bin", "/w", "mysql://u:p@127.0.0.1:3306/t1", "e2e-1").unwrap();
        let ports = [
            spec.namesrv_port,
            spec.broker_port,
            spec.service_port,
            spec.web_port,
        ];
        assert!(ports.iter().all(|&p| p != 9876 && p != 8081));
        let svc = spec.env(Component::Service);
        assert!(svc.contains(&("SECKILL_REDIS_KEY_PREFIX".into(), "e2e-1".into())));
        assert!(
            !spec
                .env(Component::Broker)
                .iter()
                .any(|(k, _)| k == "SECKILL_REDIS_KEY_PREFIX")
        );
    }

    #[test]
    fn extra_variables_replace_defaults() {
        let mut spec = StackSpec::local_default("/bin", "/w");
        spec.extra_env.push((
            Component::Broker,
            "MQ_FLUSH_DISK_TYPE".into(),
            "SYNC_FLUSH".into(),
        ));
        let broker = spec.env(Component::Broker);
        let flush: Vec<_> = broker
            .iter()
            .filter(|(k, _)| k == "MQ_FLUSH_DISK_TYPE")
            .collect();
        assert_eq!(
            flush,
            [&("MQ_FLUSH_DISK_TYPE".to_owned(), "SYNC_FLUSH".to_owned())]
        );
    }
}
