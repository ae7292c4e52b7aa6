#!/usr/bin/env bash
# Wire-compatibility check with the rocketmq-rust project's client (rocketmq-client-rust,
# pinned in Cargo.lock here). This crate is its own workspace so that the client's large
# dependency tree stays out of the main build; CI runs this script.
#
# Builds mq-namesrv, mq-broker and mqadmin and this crate, starts a name server and a broker
# on free 127.0.0.1 ports with a temporary store, creates the topic (8 queues), runs the
# client scenario (src/main.rs), then checks with mq-core's own client (mqadmin) that every
# message it sent is stored with its tag, keys, body, queue, offset and msgId, and that its
# consumer group committed its offsets through the end of every queue.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

cargo build -p mq-core --features broker --bins
# The client's ~360 crates take minutes to build cold: keep their build output in a cache
# outside the clone so CI runs on the same machine reuse it (override with COMPAT_TARGET_DIR).
compat_target="${COMPAT_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/seckill-mq/compat-rocketmq-rust}"
CARGO_TARGET_DIR="$compat_target" cargo build --manifest-path "$here/Cargo.toml"
bin="$root/target/debug"
compat="$compat_target/debug/compat-rocketmq-rust"

work="$(mktemp -d)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    if [[ "${keep_logs:-}" != 1 ]]; then
        rm -rf "$work"
    fi
}
trap cleanup EXIT

# A port nothing listens on (checked with bash's /dev/tcp).
free_port() {
    local port
    while :; do
        port=$((20000 + RANDOM % 30000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return
        fi
    done
}

wait_accepting() {
    local port=$1
    for _ in $(seq 1 300); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    echo "nothing accepts on 127.0.0.1:$port" >&2
    return 1
}

fail() {
    keep_logs=1
    echo "FAIL: $*" >&2
    echo "logs kept in $work" >&2
    exit 1
}

ns_port="$(free_port)"
MQ_NAMESRV_LISTEN="127.0.0.1:$ns_port" "$bin/mq-namesrv" >"$work/namesrv.log" 2>&1 &
pids+=($!)
wait_accepting "$ns_port"
broker_port="$(free_port)"
MQ_BROKER_LISTEN="127.0.0.1:$broker_port" MQ_NAMESRV_ADDR="127.0.0.1:$ns_port" \
    MQ_STORE_DIR="$work/store" "$bin/mq-broker" >"$work/broker.log" 2>&1 &
pids+=($!)
wait_accepting "$broker_port"

export MQ_NAMESRV_ADDR="127.0.0.1:$ns_port"
run="$$_$(date +%s)"
topic="CompatRocketmqRust_$run"
# The broker registers with the name server right after it starts listening.
for _ in $(seq 1 100); do
    if "$bin/mqadmin" updateTopic -t "$topic" -q 8 >/dev/null 2>&1; then
        break
    fi
    sleep 0.1
done
"$bin/mqadmin" --json topicRoute -t "$topic" >/dev/null || fail "topic $topic was not created"

COMPAT_TOPIC="$topic" COMPAT_RUN_ID="$run" "$compat" | tee "$work/client.out" ||
    fail "the rocketmq-rust client scenario failed"
grep -qx PASS "$work/client.out" || fail "the client scenario did not report PASS"

# Everything it sent, looked up by key with mq-core's client.
sent=0
while read -r _ key tag queue offset msg_id; do
    sent=$((sent + 1))
    found="$("$bin/mqadmin" --json queryMsgByKey -t "$topic" -k "alt-$key")"
    for want in "\"keys\":[\"$key\",\"alt-$key\"]" "\"tag\":\"$tag\"" "\"topic\":\"$topic\"" \
        "\"offsetMsgId\":\"$msg_id\"" "\"queueId\":$queue,\"queueOffset\":$offset" \
        "\"reconsumeTimes\":0"; do
        [[ "$found" == *"$want"* ]] || fail "$key: want $want in $found"
    done
    [[ "$found" == *'"body":"rocketmq-rust '* ]] || fail "$key: body in $found"
done < <(grep '^SENT ' "$work/client.out")
[[ $sent == 12 ]] || fail "expected 12 SENT lines, got $sent"

# Its group committed every queue through the end.
progress="$("$bin/mqadmin" --json consumerProgress -g "compat_rr_$run" -t "$topic")"
[[ "$progress" == *'"diffTotal":0'* ]] || fail "group compat_rr_$run did not commit: $progress"

echo "rocketmq-rust compatibility: PASS ($sent messages checked with mqadmin)"
