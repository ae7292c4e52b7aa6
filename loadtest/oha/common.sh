# Shared by the oha scenarios (sourced, not run). Settings, all optional:
#   BASE_URL   the gate (default http://127.0.0.1:8081; this machine only)
#   OUT_DIR    where results go (default target/loadtest/oha/<scenario>-<time>)
#   OHA        the oha binary (default: oha on PATH, else ~/.cargo/bin/oha)
# Each run writes, in OUT_DIR:
#   summary.txt   oha's text summary (also printed)
#   requests.db   oha's per-request SQLite table (URL, status code, timings)
#   load.jsonl    the load log for seckill-verify (status ANSWERED for a 200: oha keeps no
#                 bodies, so QUEUED/DUPLICATE/SOLD_OUT are not told apart); needs sqlite3
set -euo pipefail

BASE_URL=${BASE_URL:-http://127.0.0.1:8081}
case "$BASE_URL" in
  http://127.*|http://localhost*) ;;
  *) echo "oha scenarios send load to this machine only (http://127.x or localhost), not $BASE_URL" >&2; exit 2 ;;
esac
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OHA=${OHA:-$(command -v oha || echo "$HOME/.cargo/bin/oha")}
if [ ! -x "$OHA" ]; then
  echo "oha not found: cargo install oha --locked" >&2; exit 2
fi
SCENARIO=$(basename "$0" .sh)
OUT_DIR=${OUT_DIR:-$REPO/target/loadtest/oha/$SCENARIO-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT_DIR"
echo "$SCENARIO: results go to $OUT_DIR"

if ! curl -fsS "$BASE_URL/healthz" >/dev/null 2>&1; then
  echo "$SCENARIO: no gate answers at $BASE_URL/healthz — start the stack first (scripts/stack)" >&2
  exit 2
fi

# run_oha LABEL URL-REGEX OHA-ARGS... : one oha run with random URLs from the regex.
run_oha() {
  local label=$1 url=$2; shift 2
  echo "== $SCENARIO / $label: oha $* '$url'"
  "$OHA" --no-tui --rand-regex-url --db-url "$OUT_DIR/requests.db" "$@" "$url" \
    | tee -a "$OUT_DIR/summary.txt"
}

# Converts requests.db to load.jsonl and says where everything is.
finish() {
  if command -v sqlite3 >/dev/null; then
    sqlite3 -separator '|' "$OUT_DIR/requests.db" \
      "SELECT url, status, duration, start FROM oha ORDER BY run, start" \
      | awk -F'|' '
          {
            g = $1; sub(/.*[?&]goodsId=/, "", g); sub(/[^0-9].*/, "", g)
            u = $1; sub(/.*[?&]userId=/, "", u); sub(/[^0-9].*/, "", u)
            if (g == "" || u == "") next
            c = $2 + 0
            s = (c == 200) ? "ANSWERED" : (c == 503) ? "UNAVAILABLE" : (c == 404) ? "NOT_FOUND" \
              : (c == 400) ? "BAD_REQUEST" : (c == 429) ? "RATE_LIMITED" : "HTTP_" c
            printf "{\"goodsId\":%s,\"userId\":%s,\"status\":\"%s\",\"http\":%d,\"ms\":%.3f,\"atMs\":%d}\n",
              g, u, s, c, $3 * 1000, $4 * 1000
          }' > "$OUT_DIR/load.jsonl"
    echo "$SCENARIO: load log $OUT_DIR/load.jsonl ($(wc -l < "$OUT_DIR/load.jsonl") requests)"
    echo "$SCENARIO: verify with: cargo run -q --release -p loadtest --bin seckill-verify -- --load-log $OUT_DIR/load.jsonl"
  else
    echo "$SCENARIO: sqlite3 missing (apt-get install sqlite3), so no load log; verify without one:"
    echo "  cargo run -q --release -p loadtest --bin seckill-verify"
  fi
  echo "$SCENARIO: summary $OUT_DIR/summary.txt, per-request data $OUT_DIR/requests.db"
}
