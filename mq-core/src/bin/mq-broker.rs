//! `mq-broker`: the message broker. Parses flags (each with an environment variable),
//! binds the listener and runs [`mq_core::broker::run`] until Ctrl-C or SIGTERM.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs, UdpSocket};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use mq_core::broker::{BrokerConfig, DEFAULT_STORE_DIR};
use mq_core::process::{LogFormat, init_tracing, shutdown_signal};
use mq_core::store::FlushDiskType;

/// mimalloc: the request path allocates many small header strings (see docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// RocketMQ-compatible message broker: stores messages in a CommitLog and serves producers
/// and consumers over the RocketMQ 4.x remoting protocol.
#[derive(Debug, Parser)]
#[command(name = "mq-broker", version)]
struct Args {
    /// Address to listen on (ip:port).
    #[arg(long, env = "MQ_BROKER_LISTEN", default_value = "127.0.0.1:10911")]
    listen: String,
    /// Name servers to register with, `;`-separated; empty = do not register.
    #[arg(long, env = "MQ_NAMESRV_ADDR", default_value = "127.0.0.1:9876")]
    namesrv_addr: String,
    /// Store directory (CommitLog, ConsumeQueues, index, config/*.json).
    #[arg(long, env = "MQ_STORE_DIR", default_value = DEFAULT_STORE_DIR)]
    store_dir: PathBuf,
    /// ASYNC_FLUSH (acknowledge after the page-cache write) or SYNC_FLUSH (after fsync).
    #[arg(long, env = "MQ_FLUSH_DISK_TYPE", default_value = "ASYNC_FLUSH")]
    flush_disk_type: String,
    /// ASYNC_FLUSH: fsync the CommitLog at least this often, milliseconds (RocketMQ's
    /// flushIntervalCommitLog, which defaults to 500; shorter fsyncs disturb deliveries less).
    #[arg(long, env = "MQ_FLUSH_INTERVAL_MS", default_value_t = 100)]
    flush_interval_ms: u64,
    /// Broker name.
    #[arg(long, env = "MQ_BROKER_NAME", default_value = "broker-a")]
    broker_name: String,
    /// Cluster name.
    #[arg(long, env = "MQ_BROKER_CLUSTER", default_value = "DefaultCluster")]
    cluster_name: String,
    /// IP advertised to clients (routes, msgIds); default: the listen IP, or when listening
    /// on 0.0.0.0, the local IP that routes to the name server.
    #[arg(long, env = "MQ_BROKER_IP")]
    broker_ip: Option<IpAddr>,
    /// Delay levels (RocketMQ's messageDelayLevel): level n waits the n-th duration.
    #[arg(
        long,
        env = "MQ_DELAY_LEVELS",
        default_value = "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h"
    )]
    delay_levels: String,
    /// Create unknown topics on first send (true/false).
    #[arg(long, env = "MQ_AUTO_CREATE_TOPIC", default_value_t = true, action = clap::ArgAction::Set)]
    auto_create_topic: bool,
    /// Queue count of auto-created topics when the producer does not ask.
    #[arg(long, env = "MQ_DEFAULT_TOPIC_QUEUE_NUMS", default_value_t = 4)]
    default_topic_queue_nums: i32,
    /// Longest time an empty pull is held (long polling), milliseconds.
    #[arg(long, env = "MQ_LONG_POLL_TIMEOUT_MS", default_value_t = 15_000)]
    long_poll_timeout_ms: u64,
    /// Connections served at once.
    #[arg(long, env = "MQ_MAX_CONNECTIONS", default_value_t = 1024)]
    max_connections: usize,
    /// Requests of one connection processed concurrently.
    #[arg(long, env = "MQ_MAX_INFLIGHT", default_value_t = 256)]
    max_inflight: usize,
    /// Largest frame accepted, bytes.
    #[arg(long, env = "MQ_MAX_FRAME_SIZE", default_value_t = 16 * 1024 * 1024)]
    max_frame_size: usize,
    /// Largest message body, bytes.
    #[arg(long, env = "MQ_MAX_MESSAGE_SIZE", default_value_t = 4 * 1024 * 1024)]
    max_message_size: usize,
    /// A client silent for this long is dropped from its groups, seconds.
    #[arg(long, env = "MQ_CHANNEL_EXPIRY_SECS", default_value_t = 120)]
    channel_expiry_secs: u64,
    /// Re-register with the name servers this often, seconds.
    #[arg(long, env = "MQ_REGISTER_INTERVAL_SECS", default_value_t = 30)]
    register_interval_secs: u64,
    /// Queue-lock lease for orderly consumption, seconds.
    #[arg(long, env = "MQ_LOCK_LEASE_SECS", default_value_t = 60)]
    lock_lease_secs: u64,
    /// Log format.
    #[arg(long, env = "MQ_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    init_tracing(args.log_format);
    match serve(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("mq-broker: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: Args) -> Result<(), String> {
    let listen = resolve(&args.listen).map_err(|e| format!("--listen {}: {e}", args.listen))?;
    let mut config = config_from(&args)?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let local = listener
        .local_addr()
        .map_err(|e| format!("cannot read the listen address: {e}"))?;
    config.advertise_addr = Some(advertise(&args, local, &config.namesrv_addrs)?);
    mq_core::broker::run(listener, config, shutdown_signal())
        .await
        .map_err(|e| e.to_string())
}

fn config_from(args: &Args) -> Result<BrokerConfig, String> {
    let mut config = BrokerConfig::new(&args.store_dir)
        .with_delay_levels(&args.delay_levels)
        .map_err(|e| format!("--delay-levels {:?}: {e}", args.delay_levels))?;
    config.store.flush_disk_type = args
        .flush_disk_type
        .parse::<FlushDiskType>()
        .map_err(|e| format!("--flush-disk-type: {e}"))?;
    if args.flush_interval_ms == 0 {
        return Err("--flush-interval-ms must be at least 1".to_owned());
    }
    config.store.flush_interval = Duration::from_millis(args.flush_interval_ms);
    config.store.max_message_size = args.max_message_size;
    config.broker_name = args.broker_name.clone();
    config.cluster_name = args.cluster_name.clone();
    config.namesrv_addrs = BrokerConfig::parse_namesrv_addrs(&args.namesrv_addr);
    config.auto_create_topic = args.auto_create_topic;
    config.default_topic_queue_nums = args.default_topic_queue_nums;
    config.long_poll_timeout = Duration::from_millis(args.long_poll_timeout_ms);
    config.max_connections = args.max_connections;
    config.max_inflight_per_connection = args.max_inflight;
    config.max_frame_size = args.max_frame_size;
    config.channel_expiry = Duration::from_secs(args.channel_expiry_secs);
    config.register_interval = Duration::from_secs(args.register_interval_secs);
    config.lock_lease = Duration::from_secs(args.lock_lease_secs);
    config.validate().map_err(|e| e.to_string())?;
    Ok(config)
}

/// `host:port` or `ip:port` to one socket address.
fn resolve(addr: &str) -> Result<SocketAddr, String> {
    addr.to_socket_addrs()
        .map_err(|e| e.to_string())?
        .next()
        .ok_or_else(|| "resolves to no address".to_owned())
}

/// The address clients are told to use: `--broker-ip` with the listen port, else the
/// listen address; for 0.0.0.0, the local IP the kernel would use to reach a name server.
fn advertise(args: &Args, local: SocketAddr, namesrvs: &[String]) -> Result<SocketAddr, String> {
    if let Some(ip) = args.broker_ip {
        if ip.is_unspecified() {
            return Err(format!(
                "--broker-ip {ip} is not an address clients can dial"
            ));
        }
        return Ok(SocketAddr::new(ip, local.port()));
    }
    if !local.ip().is_unspecified() {
        return Ok(local);
    }
    let derived = namesrvs.iter().find_map(|n| {
        let target = resolve(n).ok()?;
        let bind = if target.is_ipv4() {
            "0.0.0.0:0"
        } else {
            "[::]:0"
        };
        let probe = UdpSocket::bind(bind).ok()?;
        // connect() on UDP sends nothing; it only asks the kernel for the route's source IP.
        probe.connect(target).ok()?;
        let ip = probe.local_addr().ok()?.ip();
        (!ip.is_unspecified()).then_some(ip)
    });
    derived
        .map(|ip| SocketAddr::new(ip, local.port()))
        .ok_or_else(|| {
            format!("listening on {local} needs --broker-ip (MQ_BROKER_IP): no local address could be derived")
        })
}
