// k6 load script for the seckill gate: a hot-goods stampede with random users, repeated users,
// many goods, then a sold-out phase. Every response is checked for a known `status`.
//
//   k6 run loadtest/k6/seckill.js                          # defaults: http://127.0.0.1:8081
//   BASE_URL=http://host:8081 HOT_GOODS=2 USERS=5000 k6 run loadtest/k6/seckill.js
//   k6 run --summary-export=target/loadtest/k6-summary.json loadtest/k6/seckill.js
//
// Results: k6's end-of-test summary on stdout; with --summary-export, the JSON file named.
// Afterwards run `cargo run -p loadtest --bin seckill-verify` to check the invariants.
import http from 'k6/http';
import { check } from 'k6';
import { Counter } from 'k6/metrics';

const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:8081';
const HOT_GOODS = Number(__ENV.HOT_GOODS || 2);      // the seed's goods 2 has 10 units
const ALL_GOODS = (__ENV.GOODS || '1,2,3').split(',').map(Number);
const USERS = Number(__ENV.USERS || 5000);
const REPEAT_USERS = Number(__ENV.REPEAT_USERS || 50);

const statuses = {};
for (const s of ['QUEUED', 'DUPLICATE', 'SOLD_OUT', 'NOT_FOUND', 'BAD_REQUEST', 'UNAVAILABLE']) {
  statuses[s] = new Counter(`seckill_${s.toLowerCase()}`);
}

export const options = {
  scenarios: {
    hot_goods_stampede: {
      executor: 'constant-vus', vus: 100, duration: '20s', exec: 'hotGoods',
    },
    repeated_users: {
      executor: 'constant-vus', vus: 20, duration: '20s', exec: 'repeatedUsers',
    },
    many_goods: {
      executor: 'constant-vus', vus: 20, duration: '20s', exec: 'manyGoods',
    },
    sold_out_phase: {
      executor: 'constant-vus', vus: 50, duration: '10s', startTime: '20s', exec: 'hotGoods',
    },
  },
  thresholds: {
    checks: ['rate==1.0'],
    http_req_failed: ['rate<0.01'],
  },
};

function buy(goodsId, userId) {
  const res = http.get(`${BASE_URL}/seckill?goodsId=${goodsId}&userId=${userId}`, {
    tags: { name: 'seckill' },
  });
  let body = {};
  try { body = res.json(); } catch (_) { /* checked below */ }
  if (statuses[body.status]) statuses[body.status].add(1);
  check(res, {
    'answer is a known status': () =>
      ['QUEUED', 'DUPLICATE', 'SOLD_OUT'].includes(body.status) ||
      (res.status === 503 && body.status === 'UNAVAILABLE'),
    'QUEUED only with 200': () => body.status !== 'QUEUED' || res.status === 200,
  });
}

const randomUser = () => 1 + Math.floor(Math.random() * USERS);

export function hotGoods() { buy(HOT_GOODS, randomUser()); }
export function repeatedUsers() { buy(HOT_GOODS, 1 + Math.floor(Math.random() * REPEAT_USERS)); }
export function manyGoods() {
  buy(ALL_GOODS[Math.floor(Math.random() * ALL_GOODS.length)], randomUser());
}
