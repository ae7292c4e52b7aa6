#!/usr/bin/env bash
# Repeated users: 90 users (10..99) hammering one goods — after the first answer every
# request of a user is a DUPLICATE (or SOLD_OUT): the dedup path under load.
#   GOODS (default 3)  REQUESTS (default 10000)  CONNECTIONS (50)
source "$(dirname "$0")/common.sh"
GOODS=${GOODS:-3}
run_oha repeated "$BASE_URL/seckill\\?goodsId=$GOODS&userId=[1-9][0-9]" \
  -n "${REQUESTS:-10000}" -c "${CONNECTIONS:-50}"
finish
