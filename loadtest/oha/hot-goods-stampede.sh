#!/usr/bin/env bash
# Hot goods stampede: many buyers, random user ids (100000..999999), all on one goods.
#   HOT_GOODS (default 2, the seed's 10 units)  REQUESTS (default 20000)  CONNECTIONS (100)
source "$(dirname "$0")/common.sh"
HOT_GOODS=${HOT_GOODS:-2}
run_oha stampede "$BASE_URL/seckill\\?goodsId=$HOT_GOODS&userId=[1-9][0-9]{5}" \
  -n "${REQUESTS:-20000}" -c "${CONNECTIONS:-100}"
finish
