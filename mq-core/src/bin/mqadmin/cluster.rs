//! `clusterList`: the brokers the name servers know, by cluster.

use clap::Args;
use mq_core::client::Admin;
use serde_json::json;

use crate::output::Output;

#[derive(Debug, Args)]
pub struct ClusterList {
    /// Only this cluster.
    #[arg(short = 'c', long = "clusterName")]
    cluster: Option<String>,
}

impl ClusterList {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Output> {
        let brokers: Vec<_> = admin
            .brokers()
            .await?
            .into_iter()
            .filter(|b| self.cluster.as_ref().is_none_or(|c| *c == b.cluster))
            .collect();
        let mut text = format!(
            "{:<22} {:<22} {:<5} {}\n",
            "#Cluster Name", "#Broker Name", "#BID", "#Addr"
        );
        for b in &brokers {
            text.push_str(&format!(
                "{:<22} {:<22} {:<5} {}\n",
                b.cluster, b.broker_name, b.broker_id, b.addr
            ));
        }
        Ok(Output::new(json!({ "brokers": brokers }), text))
    }
}
