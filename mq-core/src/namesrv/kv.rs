//! The name server's KV config: namespaced string settings (e.g. `ORDER_TOPIC_CONFIG`, which
//! feeds `orderTopicConf` in routes). Held in memory only; it is lost on restart.

use std::collections::HashMap;

use crate::protocol::body::broker_register::KvTable;

/// `NamesrvUtil.NAMESPACE_ORDER_TOPIC_CONFIG`: topic → `brokerName:queueNum;...`.
pub const NAMESPACE_ORDER_TOPIC_CONFIG: &str = "ORDER_TOPIC_CONFIG";

/// Namespace → key → value.
#[derive(Debug, Default)]
pub struct KvConfig {
    namespaces: HashMap<String, HashMap<String, String>>,
}

impl KvConfig {
    /// Sets a value.
    pub fn put(&mut self, namespace: &str, key: &str, value: &str) {
        self.namespaces
            .entry(namespace.to_owned())
            .or_default()
            .insert(key.to_owned(), value.to_owned());
    }

    /// Reads a value.
    pub fn get(&self, namespace: &str, key: &str) -> Option<&str> {
        self.namespaces.get(namespace)?.get(key).map(String::as_str)
    }

    /// Deletes a value; an emptied namespace goes too.
    pub fn delete(&mut self, namespace: &str, key: &str) {
        if let Some(table) = self.namespaces.get_mut(namespace) {
            table.remove(key);
            if table.is_empty() {
                self.namespaces.remove(namespace);
            }
        }
    }

    /// All entries of a namespace, if it has any.
    pub fn list(&self, namespace: &str) -> Option<KvTable> {
        self.namespaces.get(namespace).map(|table| KvTable {
            table: table.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_get_delete_list() {
        let mut kv = KvConfig::default();
        assert!(kv.get("ns", "k").is_none());
        kv.put("ns", "k", "v");
        assert_eq!(kv.get("ns", "k"), Some("v"));
        assert_eq!(kv.list("ns").map(|t| t.table.len()), Some(1));
        kv.delete("ns", "k");
        assert!(kv.list("ns").is_none());
    }
}
