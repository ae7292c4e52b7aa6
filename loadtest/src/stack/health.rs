//! What "healthy" means per component, the same checks `scripts/stack` waits for and
//! `docker-compose.yml` runs: the name server answers, the broker accepts connections and is
//! in the name server's routes, the two services answer `GET /healthz` with 200.

use std::time::Duration;

use mq_core::client::Admin;

use super::{Component, StackSpec};

/// How long one probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// Probes `component` once; `Err` says why it is not healthy (yet).
pub(super) async fn probe(
    spec: &StackSpec,
    component: Component,
    http: &reqwest::Client,
) -> Result<(), String> {
    let probe = async {
        match component {
            Component::Namesrv => Admin::connect(spec.namesrv_addr())
                .await
                .map(drop)
                .map_err(|e| format!("name server does not answer: {e}")),
            Component::Broker => broker_registered(spec).await,
            Component::Service => healthz(http, &spec.service_url()).await,
            Component::Web => healthz(http, &spec.web_url()).await,
        }
    };
    tokio::time::timeout(PROBE_TIMEOUT, probe)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {PROBE_TIMEOUT:?}")))
}

/// The broker accepts connections (a route left from before a restart is not enough) and the
/// name server routes to it.
async fn broker_registered(spec: &StackSpec) -> Result<(), String> {
    tokio::net::TcpStream::connect(spec.broker_addr())
        .await
        .map_err(|e| format!("broker does not accept connections: {e}"))?;
    let admin = Admin::connect(spec.namesrv_addr())
        .await
        .map_err(|e| format!("name server does not answer: {e}"))?;
    let brokers = admin
        .brokers()
        .await
        .map_err(|e| format!("name server does not list brokers: {e}"))?;
    let suffix = format!(":{}", spec.broker_port);
    if brokers.iter().any(|b| b.addr.ends_with(&suffix)) {
        Ok(())
    } else {
        Err(format!(
            "broker on port {} is not registered with the name server yet",
            spec.broker_port
        ))
    }
}

async fn healthz(http: &reqwest::Client, base: &str) -> Result<(), String> {
    let url = format!("{base}/healthz");
    let response = http
        .get(&url)
        .send()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("GET {url}: {status} {body}"))
    }
}
