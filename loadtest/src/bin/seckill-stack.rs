//! `seckill-stack`: the README's one-command launcher (run through `scripts/stack`, which
//! starts MariaDB/Redis and builds first). Starts mq-namesrv, mq-broker, seckill-service and
//! seckill-web from the same target directory with the settings of `docker-compose.yml`,
//! waits until each is healthy, prints where everything is, and on Ctrl-C or SIGTERM stops
//! them in reverse order (SIGTERM, wait) and exits 0.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use loadtest::stack::{Component, Stack, StackSpec, target_profile_dir};
use mq_core::process::shutdown_signal;

/// How long each process gets to shut down gracefully before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(20);

/// Runs the whole seckill stack locally against Redis and MySQL at the default URLs.
#[derive(Debug, Parser)]
#[command(name = "seckill-stack", version, about, long_about = None)]
struct Cli {
    /// Logs go to WORK_DIR/logs, the broker store to WORK_DIR/data/broker
    /// (default: target/stack next to the binaries).
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Print each process's environment and exit.
    #[arg(long)]
    print_env: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("seckill-stack: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let bin_dir = target_profile_dir()?;
    let work_dir = match cli.work_dir {
        Some(dir) => dir,
        None => bin_dir
            .parent()
            .map_or_else(|| PathBuf::from("target"), PathBuf::from)
            .join("stack"),
    };
    let spec = StackSpec::local_default(&bin_dir, std::path::absolute(&work_dir)?);
    if cli.print_env {
        for component in Component::ALL {
            for (key, value) in spec.env(component) {
                println!("{component} {key}={value}");
            }
        }
        return Ok(ExitCode::SUCCESS);
    }

    println!("seckill-stack: binaries from {}", bin_dir.display());
    println!("seckill-stack: logs in {}", spec.log_dir().display());
    let mut stack = Stack::new(spec.clone())?;
    for component in Component::ALL {
        print!("seckill-stack: starting {:<16} ", component.binary());
        std::io::Write::flush(&mut std::io::stdout())?;
        match stack.start_component(component).await {
            Ok(took) => println!(
                "healthy after {:.1} s (pid {})",
                took.as_secs_f64(),
                stack.pid(component).unwrap_or(0)
            ),
            Err(e) => {
                println!("FAILED");
                eprintln!("seckill-stack: {e}");
                stop_all(&mut stack).await;
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    print_ready(&spec);

    tokio::select! {
        () = shutdown_signal() => {
            println!("\nseckill-stack: stopping (web, service, broker, name server)");
            let clean = stop_all(&mut stack).await;
            Ok(if clean { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        (component, status) = stack.wait_any_exit() => {
            let how = status.map_or_else(|e| e.to_string(), |s| s.to_string());
            eprintln!(
                "seckill-stack: {component} exited on its own ({how}); see {}",
                spec.log_file(component).display()
            );
            stop_all(&mut stack).await;
            Ok(ExitCode::FAILURE)
        }
    }
}

fn print_ready(spec: &StackSpec) {
    println!();
    println!("The seckill stack is up.");
    println!(
        "  seckill-web      {}   (GET /seckill, /seckill/result, /healthz, /metrics)",
        spec.web_url()
    );
    println!(
        "  seckill-service  {}   (GET /orders, /goods, POST /admin/warmup, /healthz)",
        spec.service_url()
    );
    println!("  mq-namesrv       {}", spec.namesrv_addr());
    println!(
        "  mq-broker        {}   (store {})",
        spec.broker_addr(),
        spec.store_dir().display()
    );
    println!(
        "  logs             {}/{{mq-namesrv,mq-broker,seckill-service,seckill-web}}.log",
        spec.log_dir().display()
    );
    println!();
    println!("Try it:");
    println!("  curl '{}/seckill?goodsId=1&userId=42'", spec.web_url());
    println!(
        "  curl '{}/seckill/result?goodsId=1&userId=42'",
        spec.web_url()
    );
    println!("  curl '{}/orders?userId=42'", spec.service_url());
    println!();
    println!("Ctrl-C stops everything.");
}

/// Stops every process gracefully; answers whether all exited 0.
async fn stop_all(stack: &mut Stack) -> bool {
    let mut clean = true;
    for (component, result) in stack.shutdown(STOP_GRACE).await {
        match result {
            Ok(Some(status)) if status.success() => {
                println!("seckill-stack: {component} stopped ({status})");
            }
            Ok(Some(status)) => {
                clean = false;
                println!("seckill-stack: {component} stopped with {status}");
            }
            Ok(None) => {
                clean = false;
                println!("seckill-stack: {component} did not stop within {STOP_GRACE:?}; killed");
            }
            Err(e) => {
                clean = false;
                println!("seckill-stack: {component}: {e}");
            }
        }
    }
    clean
}
