#!/usr/bin/env bash
# Instructions per request of seckill-web, /healthz against /seckill, counted by
# valgrind's callgrind: unlike req/s, the count does not move with what else the shared
# machine is doing, so a change to the gate's CPU cost shows up even where a timed run
# drowns it in noise (docs/benchmarks.md, Gate, session 9).
#
# Starts its own mq-namesrv and mq-broker (ports 19876 / 20911, store in a temp dir) and
# seckill-web under callgrind (port 18081, one runtime thread, key prefix gate-instr) against
# REDIS_URL's Redis; warms goods 900000001 with stock that never runs out, warms both
# endpoints up uninstrumented, then counts REQUESTS requests of each at 50 connections.
#   REQUESTS (default 4000)   OUT_DIR (default target/loadtest/callgrind-<time>)
# Needs a release build (cargo build --release -p mq-core -p seckill-web --features
# mq-core/broker), valgrind, oha and redis-cli. Each dump in OUT_DIR opens in
# callgrind_annotate / kcachegrind.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$REPO/target/release
REQUESTS=${REQUESTS:-4000}
OUT_DIR=${OUT_DIR:-$REPO/target/loadtest/callgrind-$(date +%Y%m%d-%H%M%S)}
OHA=${OHA:-$(command -v oha || echo "$HOME/.cargo/bin/oha")}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
for tool in valgrind callgrind_control redis-cli "$OHA" "$BIN/seckill-web" "$BIN/mq-broker"; do
  command -v "$tool" >/dev/null || { echo "gate-instructions: $tool not found" >&2; exit 2; }
done
mkdir -p "$OUT_DIR"
store=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$store"
}
trap cleanup EXIT

goods=900000001
redis-cli -u "$REDIS_URL" SET "gate-instr:{$goods}:stock" 1000000000000 >/dev/null
redis-cli -u "$REDIS_URL" DEL "gate-instr:{$goods}:results" >/dev/null
"$BIN/mq-namesrv" --listen 127.0.0.1:19876 >"$OUT_DIR/namesrv.log" 2>&1 & pids+=($!)
"$BIN/mq-broker" --listen 127.0.0.1:20911 --namesrv-addr 127.0.0.1:19876 \
  --store-dir "$store" >"$OUT_DIR/broker.log" 2>&1 & pids+=($!)
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$OUT_DIR/callgrind.%p" \
  "$BIN/seckill-web" --listen 127.0.0.1:18081 --namesrv-addr 127.0.0.1:19876 \
  --redis-url "$REDIS_URL" --redis-key-prefix gate-instr --worker-threads 1 \
  --startup-timeout-ms 60000 >"$OUT_DIR/seckill-web.log" 2>&1 & web=$!
pids=("$web" "${pids[@]}")
for _ in $(seq 300); do
  curl -fsS http://127.0.0.1:18081/healthz >/dev/null 2>&1 && break
  sleep 0.2
done
healthz=http://127.0.0.1:18081/healthz
seckill="http://127.0.0.1:18081/seckill\\?goodsId=$goods&userId=[1-9][0-9]{11}"
"$OHA" --no-tui -n 500 -c 50 "$healthz" >/dev/null
"$OHA" --no-tui -n 500 -c 50 --rand-regex-url "$seckill" >/dev/null

# count NAME OHA-ARGS...: instructions of REQUESTS requests, dumped as NAME.
count() {
  local name=$1; shift
  callgrind_control -z "$web" >/dev/null 2>&1
  "$OHA" --no-tui -n "$REQUESTS" -c 50 "$@" >"$OUT_DIR/$name.oha.txt"
  callgrind_control -d "$name" "$web" >/dev/null 2>&1
  local dump total
  dump=$(grep -l "^desc: Trigger: dump $name\$" "$OUT_DIR"/callgrind.*.[0-9]* | tail -1)
  total=$(awk '/^totals:/ {print $2}' "$dump")
  if ! grep -q "\[200\] $REQUESTS responses" "$OUT_DIR/$name.oha.txt"; then
    echo "gate-instructions: not every $name answer was 200, see $OUT_DIR/$name.oha.txt" >&2
    exit 1
  fi
  echo "$name $((total / REQUESTS))"
}
callgrind_control -i on "$web" >/dev/null 2>&1
h=$(count healthz "$healthz")
s=$(count seckill --rand-regex-url "$seckill")
echo "instructions per request (seckill-web, $REQUESTS requests each, dumps in $OUT_DIR):"
echo "  /healthz ${h#* }"
echo "  /seckill ${s#* }"
awk -v h="${h#* }" -v s="${s#* }" 'BEGIN { printf "  /healthz ÷ /seckill: %.3f\n", h / s }'
