//! `GET /healthz`: liveness only. It touches neither Redis nor the broker, so it stays cheap
//! (it is the baseline `seckill-bench gate` measures the gate against) and answers while a
//! dependency is down — a gate with Redis down still answers 503s correctly.

use axum::Json;
use serde_json::{Value, json};

/// Answers `{"status":"UP"}`.
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "UP" }))
}
