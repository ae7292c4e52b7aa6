//! `mqadmin`: RocketMQ's admin commands against mq-core (or any RocketMQ 4.x cluster).
//!
//! Every command takes `-n/--namesrv` (or `MQ_NAMESRV_ADDR`) and `--json` (one JSON document
//! on stdout, for scripts). Errors print one line on stderr and exit non-zero. Commands live
//! in one file per group: `cluster`, `topic`, `message`, `consumer`, `dlq`.

mod cluster;
mod consumer;
mod dlq;
mod message;
mod output;
mod topic;

use clap::{Parser, Subcommand};
use mq_core::client::Admin;

use crate::output::Output;

/// RocketMQ's admin tool for mq-core.
#[derive(Debug, Parser)]
#[command(name = "mqadmin", version, about)]
struct Cli {
    /// Name server address(es), `;`-separated.
    #[arg(
        short = 'n',
        long = "namesrv",
        env = "MQ_NAMESRV_ADDR",
        default_value = "127.0.0.1:9876",
        global = true
    )]
    namesrv: String,
    /// Print one JSON document instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List brokers by cluster.
    #[command(name = "clusterList")]
    ClusterList(cluster::ClusterList),
    /// List every topic.
    #[command(name = "topicList")]
    TopicList(topic::TopicList),
    /// Show a topic's route.
    #[command(name = "topicRoute")]
    TopicRoute(topic::TopicRoute),
    /// Create or update a topic.
    #[command(name = "updateTopic")]
    UpdateTopic(topic::UpdateTopic),
    /// Show a topic's queues with their min and max offsets.
    #[command(name = "topicStatus")]
    TopicStatus(topic::TopicStatus),
    /// Send one message.
    #[command(name = "sendMessage")]
    SendMessage(message::SendMessage),
    /// Print messages of a topic from a queue and offset.
    #[command(name = "consumeMessage")]
    ConsumeMessage(message::ConsumeMessage),
    /// Find a message by its offset msgId.
    #[command(name = "queryMsgById")]
    QueryMsgById(message::QueryMsgById),
    /// Find messages by key.
    #[command(name = "queryMsgByKey")]
    QueryMsgByKey(message::QueryMsgByKey),
    /// Find a message by its producer msgId (UNIQ_KEY).
    #[command(name = "queryMsgByUniqueKey")]
    QueryMsgByUniqueKey(message::QueryMsgByUniqueKey),
    /// Show a group's progress: broker offset, consumer offset and lag per queue.
    #[command(name = "consumerProgress")]
    ConsumerProgress(consumer::ConsumerProgress),
    /// Show a group's live clients and subscriptions.
    #[command(name = "consumerConnection")]
    ConsumerConnection(consumer::ConsumerConnection),
    /// Move a group's offsets to a point in time (`now` skips the backlog).
    #[command(name = "resetOffsetByTime")]
    ResetOffsetByTime(consumer::ResetOffsetByTime),
    /// Print a group's dead letters.
    #[command(name = "queryDlq")]
    QueryDlq(dlq::QueryDlq),
    /// Resend a group's dead letters to its retry topic.
    #[command(name = "resendDlq")]
    ResendDlq(dlq::ResendDlq),
}

async fn run(cli: Cli) -> anyhow::Result<Output> {
    let admin = Admin::connect(&cli.namesrv).await?;
    match cli.command {
        Command::ClusterList(c) => c.run(&admin).await,
        Command::TopicList(c) => c.run(&admin).await,
        Command::TopicRoute(c) => c.run(&admin).await,
        Command::UpdateTopic(c) => c.run(&admin).await,
        Command::TopicStatus(c) => c.run(&admin).await,
        Command::SendMessage(c) => c.run(&admin, &cli.namesrv).await,
        Command::ConsumeMessage(c) => c.run(&admin).await,
        Command::QueryMsgById(c) => c.run(&admin).await,
        Command::QueryMsgByKey(c) => c.run(&admin).await,
        Command::QueryMsgByUniqueKey(c) => c.run(&admin).await,
        Command::ConsumerProgress(c) => c.run(&admin).await,
        Command::ConsumerConnection(c) => c.run(&admin).await,
        Command::ResetOffsetByTime(c) => c.run(&admin).await,
        Command::QueryDlq(c) => c.run(&admin).await,
        Command::ResendDlq(c) => c.run(&admin).await,
    }
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let json = cli.json;
    match run(cli).await {
        Ok(output) => output.print(json),
        Err(e) => {
            // One line, the whole cause chain.
            eprintln!("mqadmin: error: {e:#}");
            std::process::exit(1);
        }
    }
}
