#!/usr/bin/env bash
# Many goods: requests spread over goods 1..3 (GOODS_REGEX) with random users, so several
# hash tags and stock counters are hot at once.
#   GOODS_REGEX (default [1-3])  REQUESTS (default 20000)  CONNECTIONS (100)
source "$(dirname "$0")/common.sh"
GOODS_REGEX=${GOODS_REGEX:-[1-3]}
run_oha many-goods "$BASE_URL/seckill\\?goodsId=$GOODS_REGEX&userId=[1-9][0-9]{5}" \
  -n "${REQUESTS:-20000}" -c "${CONNECTIONS:-100}"
finish
