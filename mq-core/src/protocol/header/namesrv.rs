//! Name-server headers: broker registration, routes, topic deletion, data version, KV config.

use super::command_header;

command_header! {
    /// REGISTER_BROKER (103) request (`RegisterBrokerRequestHeader`).
    pub struct RegisterBrokerRequestHeader {
        /// Broker name (a master and its slaves share it).
        broker_name: req String = "brokerName",
        /// `ip:port` clients connect to.
        broker_addr: req String = "brokerAddr",
        /// Cluster name.
        cluster_name: req String = "clusterName",
        /// `ip:port` of the HA service.
        ha_server_addr: req String = "haServerAddr",
        /// 0 = master, > 0 = slave.
        broker_id: req i64 = "brokerId",
        /// Whether the body is the zlib form.
        compressed: flag bool = "compressed",
        /// `CRC32(body) & 0x7FFFFFFF`; 0 = unchecked.
        body_crc32: opt i32 = "bodyCrc32",
    }
}

command_header! {
    /// REGISTER_BROKER (103) response (`RegisterBrokerResponseHeader`); set for slaves only.
    pub struct RegisterBrokerResponseHeader {
        /// The master's HA address.
        ha_server_addr: opt String = "haServerAddr",
        /// The master's address.
        master_addr: opt String = "masterAddr",
    }
}

command_header! {
    /// UNREGISTER_BROKER (104) request (`UnRegisterBrokerRequestHeader`).
    pub struct UnRegisterBrokerRequestHeader {
        /// Broker name.
        broker_name: req String = "brokerName",
        /// Broker address.
        broker_addr: req String = "brokerAddr",
        /// Cluster name.
        cluster_name: req String = "clusterName",
        /// Broker id.
        broker_id: req i64 = "brokerId",
    }
}

command_header! {
    /// GET_ROUTEINFO_BY_TOPIC (105) request (`GetRouteInfoRequestHeader`).
    pub struct GetRouteInfoRequestHeader {
        /// The topic.
        topic: req String = "topic",
        /// 4.9.4+: ask for standard JSON (quoted map keys).
        accept_standard_json_only: opt bool = "acceptStandardJsonOnly",
    }
}

command_header! {
    /// DELETE_TOPIC_IN_NAMESRV (216) request (`DeleteTopicFromNamesrvRequestHeader`).
    pub struct DeleteTopicFromNamesrvRequestHeader {
        /// The topic.
        topic: req String = "topic",
        /// Restrict to one cluster (newer name servers only).
        cluster_name: opt String = "clusterName",
    }
}

command_header! {
    /// QUERY_DATA_VERSION (322) request (`QueryDataVersionRequestHeader`); body is a `DataVersion`.
    pub struct QueryDataVersionRequestHeader {
        /// Broker name.
        broker_name: req String = "brokerName",
        /// Broker address.
        broker_addr: req String = "brokerAddr",
        /// Cluster name.
        cluster_name: req String = "clusterName",
        /// Broker id.
        broker_id: req i64 = "brokerId",
    }
}

command_header! {
    /// QUERY_DATA_VERSION (322) response (`QueryDataVersionResponseHeader`).
    pub struct QueryDataVersionResponseHeader {
        /// Whether the broker's data version differs from the name server's copy.
        changed: req bool = "changed",
    }
}

command_header! {
    /// PUT_KV_CONFIG (100) request (`PutKVConfigRequestHeader`).
    pub struct PutKvConfigRequestHeader {
        /// Namespace (e.g. `ORDER_TOPIC_CONFIG`).
        namespace: req String = "namespace",
        /// Key.
        key: req String = "key",
        /// Value.
        value: req String = "value",
    }
}

command_header! {
    /// GET_KV_CONFIG (101) and DELETE_KV_CONFIG (102) request (`GetKVConfigRequestHeader`,
    /// `DeleteKVConfigRequestHeader`).
    pub struct KvConfigKeyRequestHeader {
        /// Namespace.
        namespace: req String = "namespace",
        /// Key.
        key: req String = "key",
    }
}

command_header! {
    /// GET_KV_CONFIG (101) response (`GetKVConfigResponseHeader`).
    pub struct GetKvConfigResponseHeader {
        /// The value.
        value: opt String = "value",
    }
}

command_header! {
    /// GET_KVLIST_BY_NAMESPACE (219) request (`GetKVListByNamespaceRequestHeader`).
    pub struct GetKvListByNamespaceRequestHeader {
        /// Namespace.
        namespace: req String = "namespace",
    }
}

command_header! {
    /// GET_TOPICS_BY_CLUSTER (224) request (`GetTopicsByClusterRequestHeader`).
    pub struct GetTopicsByClusterRequestHeader {
        /// Cluster name.
        cluster: req String = "cluster",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::error::ProtocolError;
    use crate::protocol::header::CommandHeader;

    #[test]
    fn register_header_round_trips_and_names_missing_fields() {
        let header = RegisterBrokerRequestHeader {
            broker_name: "broker-a".into(),
            broker_addr: "127.0.0.1:10911".into(),
            cluster_name: "DefaultCluster".into(),
            ha_server_addr: "127.0.0.1:10912".into(),
            broker_id: 0,
            compressed: false,
            body_crc32: Some(12345),
        };
        let ext = header.to_ext_fields();
        assert_eq!(ext.get("compressed").map(String::as_str), Some("false"));
        assert_eq!(
            RegisterBrokerRequestHeader::from_ext_fields(&ext).ok(),
            Some(header)
        );
        let mut partial = ext.clone();
        partial.remove("clusterName");
        assert!(matches!(
            RegisterBrokerRequestHeader::from_ext_fields(&partial),
            Err(ProtocolError::MissingField {
                field: "clusterName",
                ..
            })
        ));
        partial = ext;
        partial.remove("compressed");
        partial.remove("bodyCrc32");
        let lenient = RegisterBrokerRequestHeader::from_ext_fields(&partial).ok();
        assert_eq!(
            lenient.map(|h| (h.compressed, h.body_crc32)),
            Some((false, None))
        );
    }
}
