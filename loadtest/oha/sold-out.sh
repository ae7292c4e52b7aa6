#!/usr/bin/env bash
# Sold-out phase: first sell the hot goods out (SELL_REQUESTS random buyers), then keep
# hammering it for DURATION — every answer is SOLD_OUT, mostly from the gate's local flag
# without a Redis round trip. Both runs go to the same requests.db / load log.
#   HOT_GOODS (default 2)  SELL_REQUESTS (default 2000)  DURATION (default 10s)  CONNECTIONS (100)
source "$(dirname "$0")/common.sh"
HOT_GOODS=${HOT_GOODS:-2}
url="$BASE_URL/seckill\\?goodsId=$HOT_GOODS&userId=[1-9][0-9]{5}"
run_oha sell "$url" -n "${SELL_REQUESTS:-2000}" -c "${CONNECTIONS:-100}"
run_oha sold-out "$url" -z "${DURATION:-10s}" -w -c "${CONNECTIONS:-100}"
finish
