//! Registration with the name servers (RocketMQ's `BrokerOuterAPI`): REGISTER_BROKER with
//! the topic table to every name server at start, every `register_interval`, and at once
//! when a topic changes; UNREGISTER_BROKER at shutdown. Each call uses a short-lived
//! connection with a timeout, so a dead name server delays nothing else.

use std::sync::Arc;

use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

use super::state::BrokerState;
use crate::protocol::body::JsonBody;
use crate::protocol::body::broker_register::RegisterBrokerBody;
use crate::protocol::header::namesrv::{
    RegisterBrokerRequestHeader, UnRegisterBrokerRequestHeader,
};
use crate::protocol::{RemotingCodec, RemotingCommand, RequestCode, ResponseCode};

/// Registers until shutdown; returns at once when no name server is configured.
pub(crate) async fn run(state: Arc<BrokerState>) {
    if state.config.namesrv_addrs.is_empty() {
        tracing::info!("no name server configured; the broker will not register");
        return;
    }
    loop {
        register_all(&state).await;
        tokio::select! {
            () = state.shutdown.cancelled() => return,
            () = tokio::time::sleep(state.config.register_interval) => {}
            () = state.register_now.notified() => {}
        }
    }
}

/// One round of REGISTER_BROKER to every name server, concurrently.
pub(crate) async fn register_all(state: &BrokerState) {
    let calls = state.config.namesrv_addrs.iter().map(|addr| async move {
        match register(state, addr).await {
            Ok(()) => tracing::debug!(namesrv = %addr, "registered with the name server"),
            Err(e) => tracing::warn!(namesrv = %addr, error = %e, "registration with the name server failed"),
        }
    });
    futures::future::join_all(calls).await;
}

/// UNREGISTER_BROKER to every name server (shutdown), so routes drop at once.
pub(crate) async fn unregister_all(state: &BrokerState) {
    let header = UnRegisterBrokerRequestHeader {
        broker_name: state.config.broker_name.clone(),
        broker_addr: state.addr.to_string(),
        cluster_name: state.config.cluster_name.clone(),
        broker_id: state.config.broker_id,
    };
    let calls = state.config.namesrv_addrs.iter().map(|addr| {
        let request = RemotingCommand::request_with_header(RequestCode::UNREGISTER_BROKER, &header);
        async move {
            match call(addr, request, state.config.register_timeout).await {
                Ok(r) if r.code == ResponseCode::SUCCESS => {
                    tracing::info!(namesrv = %addr, "unregistered from the name server");
                }
                Ok(r) => tracing::warn!(namesrv = %addr, code = r.code, remark = ?r.remark, "unregistration refused"),
                Err(e) => tracing::warn!(namesrv = %addr, error = %e, "unregistration failed"),
            }
        }
    });
    futures::future::join_all(calls).await;
}

async fn register(state: &BrokerState, addr: &str) -> crate::Result<()> {
    let body = RegisterBrokerBody {
        topic_config_serialize_wrapper: state.topics.snapshot(),
        filter_server_list: Vec::new(),
    }
    .to_json()?;
    let crc = (crc32fast::hash(&body) & 0x7FFF_FFFF) as i32;
    let ha_port = state.addr.port().wrapping_add(1);
    let header = RegisterBrokerRequestHeader {
        broker_name: state.config.broker_name.clone(),
        broker_addr: state.addr.to_string(),
        cluster_name: state.config.cluster_name.clone(),
        ha_server_addr: format!("{}:{ha_port}", state.addr.ip()),
        broker_id: state.config.broker_id,
        compressed: false,
        body_crc32: Some(crc),
    };
    let request =
        RemotingCommand::request_with_header(RequestCode::REGISTER_BROKER, &header).with_body(body);
    let response = call(addr, request, state.config.register_timeout).await?;
    if response.code != ResponseCode::SUCCESS {
        return Err(crate::Error::InvalidArgument(format!(
            "the name server answered code {}: {}",
            response.code,
            response.remark.unwrap_or_default()
        )));
    }
    Ok(())
}

/// One request and its response on a fresh connection, within `timeout`.
async fn call(
    addr: &str,
    request: RemotingCommand,
    timeout: std::time::Duration,
) -> crate::Result<RemotingCommand> {
    let exchange = async {
        let stream = TcpStream::connect(addr).await?;
        let _ = stream.set_nodelay(true);
        let mut framed = Framed::new(stream, RemotingCodec::new());
        framed.send(&request).await?;
        while let Some(frame) = framed.next().await {
            let frame = frame?;
            if frame.is_response() && frame.opaque == request.opaque {
                return Ok(frame);
            }
        }
        Err(crate::Error::Io(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the name server closed the connection without answering",
        )))
    };
    tokio::time::timeout(timeout, exchange).await.map_err(|_| {
        crate::Error::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("no answer within {timeout:?}"),
        ))
    })?
}
