//! Request handling: one function per request code the name server serves, turning a request
//! into its response (RocketMQ's `DefaultRequestProcessor`).

use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::time::Instant;

use super::kv::{KvConfig, NAMESPACE_ORDER_TOPIC_CONFIG};
use super::routes::{BrokerId, RouteTable};
use crate::protocol::body::JsonBody;
use crate::protocol::body::broker_register::{
    DataVersion, RegisterBrokerBody, TopicConfigSerializeWrapper,
};
use crate::protocol::error::Result;
use crate::protocol::header::namesrv::{
    DeleteTopicFromNamesrvRequestHeader, GetKvConfigResponseHeader,
    GetKvListByNamespaceRequestHeader, GetRouteInfoRequestHeader, GetTopicsByClusterRequestHeader,
    KvConfigKeyRequestHeader, PutKvConfigRequestHeader, QueryDataVersionRequestHeader,
    QueryDataVersionResponseHeader, RegisterBrokerRequestHeader, RegisterBrokerResponseHeader,
    UnRegisterBrokerRequestHeader,
};
use crate::protocol::{RemotingCommand, RequestCode, ResponseCode};

/// `MQVersion.Version.V3_0_11.ordinal()`: from this version on the register body is a
/// `RegisterBrokerBody`; before it, a bare `TopicConfigSerializeWrapper`.
const V3_0_11: i32 = 37;

/// The name server's shared state.
#[derive(Debug, Default)]
pub(crate) struct State {
    routes: Mutex<RouteTable>,
    kv: Mutex<KvConfig>,
}

impl State {
    /// The route table (a poisoned lock is still usable: every update leaves it consistent).
    pub(crate) fn routes(&self) -> MutexGuard<'_, RouteTable> {
        self.routes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn kv(&self) -> MutexGuard<'_, KvConfig> {
        self.kv.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Answers one request. Handler errors (bad header, bad body) become SYSTEM_ERROR with the
/// error text as remark, as Java does with a handler exception.
pub(crate) fn process(state: &State, request: &RemotingCommand) -> RemotingCommand {
    let result = match request.code {
        RequestCode::REGISTER_BROKER => register_broker(state, request),
        RequestCode::UNREGISTER_BROKER => unregister_broker(state, request),
        RequestCode::GET_ROUTEINFO_BY_TOPIC => route_by_topic(state, request),
        RequestCode::GET_BROKER_CLUSTER_INFO => {
            body_response(request, &state.routes().cluster_info())
        }
        RequestCode::GET_ALL_TOPIC_LIST_FROM_NAMESERVER => {
            body_response(request, &state.routes().topics())
        }
        RequestCode::GET_TOPICS_BY_CLUSTER => topics_by_cluster(state, request),
        RequestCode::DELETE_TOPIC_IN_NAMESRV => delete_topic(state, request),
        RequestCode::QUERY_DATA_VERSION => query_data_version(state, request),
        RequestCode::PUT_KV_CONFIG => put_kv(state, request),
        RequestCode::GET_KV_CONFIG => get_kv(state, request),
        RequestCode::DELETE_KV_CONFIG => delete_kv(state, request),
        RequestCode::GET_KVLIST_BY_NAMESPACE => kv_list(state, request),
        code => Ok(
            RemotingCommand::response_to(request, ResponseCode::REQUEST_CODE_NOT_SUPPORTED)
                .with_remark(format!(" request type {code} not supported")),
        ),
    };
    result.unwrap_or_else(|e| {
        RemotingCommand::response_to(request, ResponseCode::SYSTEM_ERROR).with_remark(e.to_string())
    })
}

fn success(request: &RemotingCommand) -> RemotingCommand {
    RemotingCommand::response_to(request, ResponseCode::SUCCESS)
}

fn body_response(request: &RemotingCommand, body: &impl JsonBody) -> Result<RemotingCommand> {
    Ok(success(request).with_body(body.to_json()?))
}

fn register_broker(state: &State, request: &RemotingCommand) -> Result<RemotingCommand> {
    let header: RegisterBrokerRequestHeader = request.decode_header()?;
    if let Some(expected) = header.body_crc32.filter(|&crc| crc != 0) {
        let actual = (crc32fast::hash(&request.body) & 0x7FFF_FFFF) as i32;
        if actual != expected {
            return Ok(
                RemotingCommand::response_to(request, ResponseCode::SYSTEM_ERROR)
                    .with_remark("crc32 not match"),
            );
        }
    }
    if header.compressed {
        return Ok(
            RemotingCommand::response_to(request, ResponseCode::SYSTEM_ERROR).with_remark(
                "compressed RegisterBrokerBody is not supported; register uncompressed",
            ),
        );
    }
    let body = if request.body.is_empty() {
        RegisterBrokerBody::default()
    } else if request.version >= V3_0_11 {
        RegisterBrokerBody::from_json(&request.body)?
    } else {
        RegisterBrokerBody {
            topic_config_serialize_wrapper: TopicConfigSerializeWrapper::from_json(&request.body)?,
            filter_server_list: Vec::new(),
        }
    };
    let id = BrokerId {
        cluster_name: header.cluster_name,
        broker_name: header.broker_name,
        broker_addr: header.broker_addr,
        broker_id: header.broker_id,
    };
    let outcome = state.routes().register(
        id,
        header.ha_server_addr,
        &body.topic_config_serialize_wrapper,
        body.filter_server_list,
        Instant::now(),
    );
    let response = success(request).with_header(&RegisterBrokerResponseHeader {
        ha_server_addr: outcome.ha_server_addr,
        master_addr: outcome.master_addr,
    });
    match state.kv().list(NAMESPACE_ORDER_TOPIC_CONFIG) {
        Some(table) => Ok(response.with_body(table.to_json()?)),
        None => Ok(response),
    }
}

fn unregister_broker(state: &State, request: &RemotingCommand) -> Result<RemotingCommand> {
    let header: UnRegisterBrokerRequestHeader = request.decode_header()?;
    state.routes().unregister(&BrokerId {
        cluster_name: header.cluster_name,
        broker_name: header.broker_name,
        broker_addr: header.broker_addr,
        broker_id: header.broker_id,
    });
    Ok(success(request))
}

fn route_by_topic(state: &State, request: &RemotingCommand) -> Result<RemotingCommand> {
    let header: GetRouteInfoRequestHeader = request.decode_header()?;
    let Some(mut route) = state.routes().route(&header.topic) else {
        return Ok(
            RemotingCommand::response_to(request, ResponseCode::TOPIC_NOT_EXIST).with_remark(
                format!(
                    "No topic route info in name server for the topic: {}",
                    header.topic
                ),
            ),
        );
    };
    route.order_topic_conf = state
        .kv()
        .get(NAMESPACE_ORDER_TOPIC_CONFIG, &header.topic)
        .map(str::to_owned);
    // Always standard JSON (quoted broker ids): every fastjson version reads it.
    body_response(request, &route)
}

fn topics_by_cluster(state: &State, request: &RemotingCommand) -> Result<RemotingCommand> {
    let header: GetTopicsByClusterRequestHeader = request.decode_header()?;
    body_response(request, &state.routes().topics_of_cluster(&header.cluster))
}

fn delete_topic(state: &State, request: &RemotingCommand) -> Result<RemotingCommand> {
    let header: DeleteTopicFromNamesrvRequestHeader = request.decode_header()?;
    state
        .routes()
        .delete_topic(&header.topic, header.cluster_name.as_deref());
    Ok(success(request))
}

fn query_data_version(state: &State, request: &RemotingCommand) -> Result<RemotingCommand> {
    let header: QueryDataVersionRequestHeader = request.decode_header()?;
    let version = DataVersion::from_json(&request.body)?;
    let mut routes = state.routes();
    let changed = routes.is_data_version_changed(&header.broker_addr, &version);
    if !changed {
        routes.touch(&header.broker_addr, Instant::now());
    }
    let ours = routes.data_version(&header.broker_addr);
    drop(routes);
    let response = success(request).with_header(&QueryDataVersionResponseHeader { changed });
    match ours {
        Some(ours) => Ok(response.with_body(ours.to_json()?)),
        None => Ok(response),
    }
}

fn put_kv(state: &State, request: &RemotingCommand) -> Result<RemotingCommand> {
    let header: PutKvConfigRequestHeader = request.decode_header()?;
    state
        .kv()
        .put(&header.namespace, &header.key, &header.value);
    Ok(success(request))
}

fn get_kv(state: &State, request: &RemotingCommand) -> Result<RemotingCommand> {
    let header: KvConfigKeyRequestHeader = request.decode_header()?;
    let value = state
        .kv()
        .get(&header.namespace, &header.key)
        .map(str::to_owned);
    Ok(match value {
        Some(value) => {
            success(request).with_header(&GetKvConfigResponseHeader { value: Some(value) })
        }
        None => RemotingCommand::response_to(request, ResponseCode::QUERY_NOT_FOUND).with_remark(
            format!(
                "No config item, Namespace: {} Key: {}",
                header.namespace, header.key
            ),
        ),
    })
}

fn delete_kv(state: &State, request: &RemotingCommand) -> Result<RemotingCommand> {
    let header: KvConfigKeyRequestHeader = request.decode_header()?;
    state.kv().delete(&header.namespace, &header.key);
    Ok(success(request))
}

fn kv_list(state: &State, request: &RemotingCommand) -> Result<RemotingCommand> {
    let header: GetKvListByNamespaceRequestHeader = request.decode_header()?;
    let table = state.kv().list(&header.namespace);
    match table {
        Some(table) => body_response(request, &table),
        None => Ok(
            RemotingCommand::response_to(request, ResponseCode::QUERY_NOT_FOUND)
                .with_remark(format!("No config item, Namespace: {}", header.namespace)),
        ),
    }
}
