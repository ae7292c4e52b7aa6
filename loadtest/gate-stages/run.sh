#!/usr/bin/env bash
# Where /seckill's throughput goes, stage by stage (docs/benchmarks.md, Gate, session 10).
#
# seckill-bench gate compares the whole /seckill path with /healthz. This script cuts the path
# short to show what each stage costs: it builds seckill-web from HEAD with
# gate-stages.patch applied (an experiment-only GATE_STAGE switch that never ships) and runs
# three gates side by side against one name server and broker:
#   full   the real gate: Redis step, then the broker's acknowledgement, then QUEUED
#   take   QUEUED right after the Redis step; no order message is sent
#   parse  QUEUED right after parsing and the local checks; neither Redis nor the broker
# Each round drives /healthz and the three with oha (forward in odd rounds, backward in even
# ones) and prints req/s and the CPU each process spent per request (from /proc/<pid>/stat;
# oha's from bash's `time`), then the median ratio of each stage to /healthz.
#
# Ports 19876 (name server), 20911 (broker), 18081-18083 (gates), key prefix gate-stages-*.
#   ROUNDS (3)  DURATION seconds per run (5)  CONCURRENCY (50)
#   WORKER_THREADS (0 = seckill-web's default, one per CPU)
#   STAGES_TARGET (target/gate-stages: the patched build's own target dir; it keeps the
#   dependencies built, but the worktree is new each run, so the workspace crates rebuild)
# Needs target/release/mq-namesrv and mq-broker (cargo build --release -p mq-core
# --features broker), git, cargo, oha and redis-cli, and a Redis on this machine (its CPU is
# read from /proc).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$REPO/target/release
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
CONCURRENCY=${CONCURRENCY:-50}
WORKER_THREADS=${WORKER_THREADS:-0}
STAGES_TARGET=${STAGES_TARGET:-$REPO/target/gate-stages}
OHA=${OHA:-$(command -v oha || echo "$HOME/.cargo/bin/oha")}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
for tool in git cargo redis-cli "$OHA" "$BIN/mq-namesrv" "$BIN/mq-broker"; do
  command -v "$tool" >/dev/null || { echo "gate-stages: $tool not found" >&2; exit 2; }
done

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for stage in full take parse; do
    redis-cli -u "$REDIS_URL" DEL "gate-stages-$stage:{$goods}:stock" \
      "gate-stages-$stage:{$goods}:results" >/dev/null 2>&1 || true
  done
  git -C "$REPO" worktree remove --force "$work/tree" 2>/dev/null || true
  rm -rf "$work"
}
goods=900000001
trap cleanup EXIT

echo "building the patched seckill-web (HEAD + gate-stages.patch) into $STAGES_TARGET ..."
git -C "$REPO" worktree add --detach --quiet "$work/tree" HEAD
git -C "$work/tree" apply "$REPO/loadtest/gate-stages/gate-stages.patch"
(cd "$work/tree" && cargo build --release --quiet -p seckill-web --bin seckill-web \
  --target-dir "$STAGES_TARGET")
web=$STAGES_TARGET/release/seckill-web

"$BIN/mq-namesrv" --listen 127.0.0.1:19876 >"$work/namesrv.log" 2>&1 & pids+=($!)
"$BIN/mq-broker" --listen 127.0.0.1:20911 --namesrv-addr 127.0.0.1:19876 \
  --store-dir "$work/store" >"$work/broker.log" 2>&1 & broker=$!
pids+=("$broker")
declare -A port=([full]=18081 [take]=18082 [parse]=18083) gate=()
for stage in full take parse; do
  redis-cli -u "$REDIS_URL" SET "gate-stages-$stage:{$goods}:stock" 1000000000000 >/dev/null
  GATE_STAGE=$stage "$web" --listen "127.0.0.1:${port[$stage]}" --namesrv-addr 127.0.0.1:19876 \
    --redis-url "$REDIS_URL" --redis-key-prefix "gate-stages-$stage" \
    --worker-threads "$WORKER_THREADS" >"$work/web-$stage.log" 2>&1 &
  gate[$stage]=$!
  pids=("$!" "${pids[@]}")
done
for stage in full take parse; do
  for _ in $(seq 100); do
    curl -fsS "http://127.0.0.1:${port[$stage]}/healthz" >/dev/null 2>&1 && break
    sleep 0.2
  done
done
redis_pid=$(redis-cli -u "$REDIS_URL" INFO server | awk -F: '/^process_id/ {print $2+0}')

# url STAGE: oha's arguments for that stage (healthz: the full gate's /healthz).
url() {
  case $1 in
    healthz) echo "http://127.0.0.1:${port[full]}/healthz" ;;
    *) echo "--rand-regex-url http://127.0.0.1:${port[$1]}/seckill\\?goodsId=$goods&userId=[1-9][0-9]{11}" ;;
  esac
}
# ticks PID: user + system clock ticks the process has used so far.
ticks() { awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$1/stat"; }
idle() { awk '/^cpu / {print $5}' /proc/stat; }

# run STAGE: one oha run; prints "STAGE req/s" and CPU µs per request per process.
run() {
  local stage=$1 gate_pid=${gate[full]} out="$work/oha.txt"
  [[ $stage == healthz ]] || gate_pid=${gate[$stage]}
  local g0 b0 r0 i0 g1 b1 r1 i1 oha_cpu
  g0=$(ticks "$gate_pid"); b0=$(ticks "$broker"); r0=$(ticks "$redis_pid"); i0=$(idle)
  # shellcheck disable=SC2046 # url's words are oha's arguments
  oha_cpu=$( { TIMEFORMAT='%U %S'; time "$OHA" --no-tui -z "${DURATION}s" -c "$CONCURRENCY" \
    $(url "$stage") >"$out"; } 2>&1 )
  g1=$(ticks "$gate_pid"); b1=$(ticks "$broker"); r1=$(ticks "$redis_pid"); i1=$(idle)
  local ok rps
  ok=$(awk '/\[200\]/ {print $2}' "$out")
  rps=$(awk '/Requests\/sec:/ {print $2}' "$out")
  if [[ -z $ok || $ok == 0 ]] || grep -q '^\s*\[[013-9][0-9][0-9]\]' "$out"; then
    echo "gate-stages: not every $stage answer was 200; oha printed:" >&2
    cat "$out" >&2
    exit 1
  fi
  awk -v s="$stage" -v rps="$rps" -v n="$ok" -v hz="$(getconf CLK_TCK)" -v d="$DURATION" \
    -v g=$((g1 - g0)) -v b=$((b1 - b0)) -v r=$((r1 - r0)) -v i=$((i1 - i0)) -v o="$oha_cpu" \
    'BEGIN { split(o, t, " "); us = 1e6 / hz / n
      printf "  %-8s %7.0f req/s   CPU µs/request: gate %5.1f  broker %4.1f  redis %4.1f  oha %5.1f   idle %.2f cores\n",
        s, rps, g * us, b * us, r * us, (t[1] + t[2]) * 1e6 / n, i / hz / d }'
  echo "$stage $rps" >>"$work/rates"
}

for stage in full take parse; do "$OHA" --no-tui -n 2000 -c "$CONCURRENCY" $(url "$stage") >/dev/null; done
echo "gate-stages: $ROUNDS rounds of ${DURATION}s runs at $CONCURRENCY connections," \
  "seckill-web --worker-threads $WORKER_THREADS"
for round in $(seq "$ROUNDS"); do
  order="healthz parse take full"
  (( round % 2 == 0 )) && order="full take parse healthz"
  echo "round $round"
  : >"$work/rates"
  for stage in $order; do run "$stage"; done
  awk '{rate[$1] = $2} END {
         printf "  ratio to /healthz: parse %.3f  take %.3f  full %.3f\n",
           rate["parse"] / rate["healthz"], rate["take"] / rate["healthz"], rate["full"] / rate["healthz"] }' \
    "$work/rates" | tee -a "$work/ratios"
done
# Median per stage (of an even count, the lower middle), as seckill-bench gate reports.
echo "median ratio to /healthz over $ROUNDS rounds:"
for field in parse take full; do
  awk -v f="$field" '{for (i = 1; i <= NF; i++) if ($i == f) print $(i + 1)}' "$work/ratios" |
    sort -n | awk -v f="$field" '{v[NR] = $1} END {printf "  %-5s %s\n", f, v[int((NR + 1) / 2)]}'
done
