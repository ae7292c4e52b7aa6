//! Where the clients of one consumer group subscribe differently, computed from each
//! client's `SubscriptionData` set. The broker logs it; the admin client reports it.
//!
//! RocketMQ assumes every instance of a group subscribes identically: queues are shared out
//! by client id regardless of subscription, so an instance filtering with another expression
//! (or not subscribing a topic at all) silently skips messages that were meant for the group.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use super::heartbeat::SubscriptionData;

/// One topic the clients of a group do not agree on.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscriptionConflict {
    /// The topic.
    pub topic: String,
    /// Expression (see [`expression`]) → the clients subscribing the topic with it, sorted.
    pub expressions: BTreeMap<String, Vec<String>>,
    /// Clients of the group that do not subscribe the topic, sorted.
    pub unsubscribed: Vec<String>,
}

impl fmt::Display for SubscriptionConflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "topic {}: ", self.topic)?;
        let mut parts: Vec<String> = self
            .expressions
            .iter()
            .map(|(expr, clients)| format!("{expr:?} by {}", clients.join(", ")))
            .collect();
        if !self.unsubscribed.is_empty() {
            parts.push(format!(
                "not subscribed by {}",
                self.unsubscribed.join(", ")
            ));
        }
        f.write_str(&parts.join("; "))
    }
}

/// How a subscription filters: the expression, prefixed with its type unless it is `TAG`
/// (the same tags under SQL92 select different messages).
pub fn expression(sub: &SubscriptionData) -> String {
    match sub.expression_type.as_str() {
        "" | "TAG" => sub.sub_string.clone(),
        other => format!("{other}:{}", sub.sub_string),
    }
}

/// The topics `clients` (client id → its subscriptions) disagree on, by topic; empty when
/// every client subscribes the same topics with the same expressions.
pub fn subscription_conflicts<'a, C, S>(clients: C) -> Vec<SubscriptionConflict>
where
    C: IntoIterator<Item = (&'a String, S)>,
    S: IntoIterator<Item = &'a SubscriptionData>,
{
    let mut all_clients = BTreeSet::new();
    let mut by_topic: BTreeMap<&str, BTreeMap<String, BTreeSet<&str>>> = BTreeMap::new();
    for (client, subs) in clients {
        all_clients.insert(client.as_str());
        for sub in subs {
            by_topic
                .entry(sub.topic.as_str())
                .or_default()
                .entry(expression(sub))
                .or_default()
                .insert(client.as_str());
        }
    }
    by_topic
        .into_iter()
        .filter_map(|(topic, expressions)| {
            let subscribed: BTreeSet<&str> = expressions.values().flatten().copied().collect();
            let unsubscribed: Vec<String> = all_clients
                .difference(&subscribed)
                .map(|c| (*c).to_owned())
                .collect();
            (expressions.len() > 1 || !unsubscribed.is_empty()).then(|| SubscriptionConflict {
                topic: topic.to_owned(),
                expressions: expressions
                    .into_iter()
                    .map(|(e, cs)| (e, cs.into_iter().map(str::to_owned).collect()))
                    .collect(),
                unsubscribed,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(topic: &str, expr: &str) -> SubscriptionData {
        SubscriptionData {
            topic: topic.to_owned(),
            sub_string: expr.to_owned(),
            ..SubscriptionData::default()
        }
    }

    fn conflicts(clients: &[(&str, Vec<SubscriptionData>)]) -> Vec<SubscriptionConflict> {
        let owned: Vec<(String, Vec<SubscriptionData>)> = clients
            .iter()
            .map(|(c, s)| ((*c).to_owned(), s.clone()))
            .collect();
        subscription_conflicts(owned.iter().map(|(c, s)| (c, s)))
    }

    #[test]
    fn identical_subscriptions_agree() {
        let same = vec![sub("T", "tagA"), sub("%RETRY%g", "*")];
        assert!(conflicts(&[("c1", same.clone()), ("c2", same)]).is_empty());
        assert!(conflicts(&[("alone", vec![sub("T", "tagA")])]).is_empty());
    }

    #[test]
    fn names_each_expression_and_missing_topic() {
        let found = conflicts(&[
            ("c1", vec![sub("T", "tagA"), sub("U", "*")]),
            ("c2", vec![sub("T", "tagB")]),
            ("c3", vec![sub("T", "tagA")]),
        ]);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].topic, "T");
        assert_eq!(found[0].expressions["tagA"], ["c1", "c3"]);
        assert_eq!(found[0].expressions["tagB"], ["c2"]);
        assert!(found[0].unsubscribed.is_empty());
        assert_eq!(found[1].topic, "U");
        assert_eq!(found[1].unsubscribed, ["c2", "c3"]);
        assert_eq!(
            found[0].to_string(),
            r#"topic T: "tagA" by c1, c3; "tagB" by c2"#
        );
        assert_eq!(
            found[1].to_string(),
            r#"topic U: "*" by c1; not subscribed by c2, c3"#
        );
    }

    #[test]
    fn expression_type_counts() {
        let sql = SubscriptionData {
            expression_type: "SQL92".to_owned(),
            ..sub("T", "a > 1")
        };
        let found = conflicts(&[
            ("c1", vec![sub("T", "a > 1")]),
            ("c2", vec![sub("T", "a > 1")]),
        ]);
        assert!(found.is_empty());
        let found = conflicts(&[("c1", vec![sub("T", "a > 1")]), ("c2", vec![sql])]);
        assert_eq!(found[0].expressions["SQL92:a > 1"], ["c2"]);
    }
}
