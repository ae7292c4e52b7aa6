//! The sample run the report's unit tests share: both mq-core modes and the three peers.

use super::{Figure, MQ_ASYNC, MQ_SYNC, Metric, NATS, RABBITMQ, REDIS, Results, Role, System};

fn system(name: &str, role: Role) -> System {
    System {
        name: name.into(),
        role,
        durability: "d".into(),
        skipped: None,
    }
}

fn fig(system: &str, scenario: &str, metric: Metric, value: f64) -> Figure {
    Figure {
        system: system.into(),
        scenario: scenario.into(),
        metric,
        value,
    }
}

pub(super) fn sample() -> Results {
    let busy = "produce 1KiB inflight=64";
    let single = "produce 1KiB inflight=1";
    Results {
        systems: vec![
            system(MQ_ASYNC, Role::MqCore),
            system(MQ_SYNC, Role::MqCore),
            system(NATS, Role::Peer { persistent: true }),
            system(RABBITMQ, Role::Peer { persistent: true }),
            system(REDIS, Role::Peer { persistent: false }),
        ],
        figures: vec![
            fig(MQ_ASYNC, busy, Metric::Produced, 300_000.0),
            fig(MQ_SYNC, busy, Metric::Produced, 60_000.0),
            fig(NATS, busy, Metric::Produced, 100_000.0),
            fig(RABBITMQ, busy, Metric::Produced, 20_000.0),
            fig(REDIS, busy, Metric::Produced, 200_000.0),
            fig(MQ_ASYNC, single, Metric::AckP99, 200.0),
            fig(NATS, single, Metric::AckP99, 160.0),
            fig(REDIS, single, Metric::AckP99, 180.0),
        ],
        ..Default::default()
    }
}
