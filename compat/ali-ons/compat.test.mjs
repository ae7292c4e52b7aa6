// Wire-compatibility test: the Node RocketMQ client `ali-ons` (JSON headers, its own
// encoder and decoder) against mq-core's name server and broker.
//
// It starts nothing: run mq-namesrv and mq-broker first, create the topic (ali-ons does not
// auto-create topics: a route miss is an error for it), then
//
//   MQ_NAMESRV_ADDR=127.0.0.1:9876 COMPAT_TOPIC=CompatTopic \
//     node --test --test-force-exit compat.test.mjs
//
// Environment:
//   MQ_NAMESRV_ADDR   name server address (required)
//   COMPAT_TOPIC      an existing topic with at least 8 queues (required)
//   COMPAT_RUN_ID     suffix of keys and group names (default: the current time)
//   COMPAT_RUST_SENT  JSON [{key, tag, body}] that another client sent to COMPAT_TOPIC before
//                     this run; the `vip` consumer must receive the vip ones (optional)
//   COMPAT_REPORT     file to write what this run sent and received, as JSON (optional)
//
// `--test-force-exit` is needed: ali-ons keeps an internal producer whose timers never stop.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Producer, Consumer, Message } = require('ali-ons');

const nameSrv = process.env.MQ_NAMESRV_ADDR;
const topic = process.env.COMPAT_TOPIC;
if (!nameSrv || !topic) {
  throw new Error('set MQ_NAMESRV_ADDR and COMPAT_TOPIC (an existing topic with >= 8 queues)');
}
const run = process.env.COMPAT_RUN_ID || String(Date.now());
const rustSent = JSON.parse(process.env.COMPAT_RUST_SENT || '[]');
const reportPath = process.env.COMPAT_REPORT;

// ali-ons asks for an HTTP client to look name servers up over HTTP; with `nameSrv` it is
// never called.
const httpclient = {
  request() {
    throw new Error('ali-ons tried to fetch the name server list over HTTP');
  },
};

// Errors ali-ons reports through 'error' events. Only one kind is expected: the route of a
// consumer group's %RETRY% topic is looked up before the broker has created it (the broker
// creates it on the group's first heartbeat, as RocketMQ does); every other one fails the run.
const errors = [];
function recordErrors(emitter, who) {
  emitter.on('error', err => {
    const text = String(err && err.message);
    if (/No topic route info in name server for the topic: %RETRY%/.test(text)) {
      return;
    }
    errors.push(`${who}: ${text}`);
  });
}
function assertNoErrors() {
  assert.deepEqual(errors, [], 'ali-ons reported errors');
}

const quietLogger = {
  info() {},
  debug() {},
  warn() {},
  error(...args) {
    console.error('[ali-ons]', ...args);
  },
};

const report = { run, topic, jsSent: [], vipReceived: [], laterReceived: [], retryDeliveries: [] };
function writeReport() {
  if (reportPath) {
    writeFileSync(reportPath, JSON.stringify(report, null, 2));
  }
}

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));

async function waitFor(what, predicate, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await sleep(50);
  }
}

// How long a consumer keeps listening after the expected messages arrived, to catch extras
// and duplicates.
const SETTLE_MS = 3000;

const producer = new Producer({
  nameSrv,
  httpclient,
  logger: quietLogger,
  producerGroup: `compat_js_producer_${run}`,
});
recordErrors(producer, 'producer');
const consumers = [];

function newConsumer(group, instanceName, extra = {}) {
  const consumer = new Consumer({
    nameSrv,
    httpclient,
    logger: quietLogger,
    consumerGroup: group,
    instanceName,
    consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET',
    // Short intervals so the %RETRY% route and rebalances are picked up within the test.
    pollNameServerInteval: 1000,
    rebalanceInterval: 1000,
    ...extra,
  });
  recordErrors(consumer, `consumer ${group}/${instanceName}`);
  consumers.push(consumer);
  return consumer;
}

async function send(i, tag, phase) {
  const key = `js-${run}-${phase}-${i}`;
  const body = `ali-ons ${phase} #${i} ✓ ${tag}`;
  const msg = new Message(topic, tag, body);
  msg.keys = [key, `alt-${key}`];
  const result = await producer.send(msg);
  assert.equal(result.sendStatus, 'SEND_OK', `send ${key}`);
  assert.match(result.msgId, /^[0-9A-F]{32}$/, 'offset msgId: 32 upper-case hex chars');
  assert.ok(Number.isInteger(result.queueOffset) && result.queueOffset >= 0, 'queueOffset');
  const sent = {
    key,
    keys: `${key} alt-${key}`,
    tag,
    body,
    phase,
    msgId: result.msgId,
    queueId: Number(result.messageQueue.queueId),
    queueOffset: result.queueOffset,
  };
  report.jsSent.push(sent);
  writeReport();
  return sent;
}

function received(msg) {
  return {
    key: String(msg.keys || '').split(' ')[0],
    keys: msg.keys,
    tag: msg.tags,
    body: msg.body ? msg.body.toString('utf8') : '',
    topic: msg.topic,
    queueId: msg.queueId,
    queueOffset: msg.queueOffset,
    msgId: msg.msgId,
    reconsumeTimes: msg.reconsumeTimes,
  };
}

async function consumeExactly(consumer, expression, expected, sink) {
  const got = [];
  consumer.subscribe(topic, expression, async msg => {
    const m = received(msg);
    got.push(m);
    sink.push(m);
    writeReport();
  });
  await consumer.ready();
  const want = new Set(expected.map(e => e.key));
  await waitFor(
    `${want.size} messages tagged ${expression}`,
    () => [...want].every(k => got.some(m => m.key === k)),
    30000,
  );
  await sleep(SETTLE_MS);
  const keys = got.map(m => m.key).sort();
  assert.deepEqual(keys, [...want].sort(), 'exactly the expected messages, each once');
  for (const m of got) {
    const e = expected.find(x => x.key === m.key);
    assert.equal(m.tag, expression, `tag of ${m.key}`);
    assert.equal(m.topic, topic, `topic of ${m.key}`);
    assert.equal(m.body, e.body, `body of ${m.key}`);
    if (e.keys) {
      assert.equal(m.keys, e.keys, `keys of ${m.key}`);
    }
  }
  return got;
}

after(async () => {
  writeReport();
  for (const c of consumers) {
    await c.close().catch(() => {});
  }
  await producer.close().catch(() => {});
});

// Phase 1 sends 4 messages here, and COMPAT_RUST_SENT holds 3 more: 7 < 8 queues, so at least
// one queue stays empty and the consumer commits its offset 0 as -1 (ali-ons' persistAll
// writes `offset || -1`); the broker must treat that as "nothing consumed" later.
const phase1 = [];

test('ali-ons producer sends with tags and keys (SEND_MESSAGE_V2, JSON header)', async () => {
  await producer.ready();
  for (let i = 0; i < 4; i++) {
    phase1.push(await send(i, i % 2 === 0 ? 'vip' : 'svip', 'first'));
  }
  assertNoErrors();
});

test('ali-ons push consumer subscribed to tag vip receives exactly the vip messages, ours and its own', async () => {
  const expected = [
    ...phase1.filter(m => m.tag === 'vip'),
    ...rustSent.filter(m => m.tag === 'vip'),
  ];
  const consumer = newConsumer(`compat_js_${run}`, `first-${run}`);
  await consumeExactly(consumer, 'vip', expected, report.vipReceived);
  // Closing persists the offsets (UPDATE_CONSUMER_OFFSET) and unregisters the client.
  await consumer.close();
  assertNoErrors();
});

test('offsets were committed: a later consumer of the same group gets only what came after', async () => {
  const phase2 = [];
  for (let i = 0; i < 8; i++) {
    phase2.push(await send(i, i % 2 === 0 ? 'vip' : 'svip', 'later'));
  }
  const consumer = newConsumer(`compat_js_${run}`, `later-${run}`);
  await consumeExactly(
    consumer,
    'vip',
    phase2.filter(m => m.tag === 'vip'),
    report.laterReceived,
  );
  await consumer.close();
  assertNoErrors();
});

test('a message the handler asks to retry comes back through %RETRY% (CONSUMER_SEND_MSG_BACK)', async () => {
  const group = `compat_js_retry_${run}`;
  const consumer = newConsumer(group, `retry-${run}`);
  const deliveries = report.retryDeliveries;
  consumer.subscribe(topic, 'retry', async msg => {
    deliveries.push(received(msg));
    writeReport();
    // The first delivery fails; the broker stores the message in %RETRY%<group> with a
    // delay (level 3 + reconsumeTimes) and delivers it again.
    return deliveries.length === 1 ? Consumer.ACTION_RETRY : undefined;
  });
  await consumer.ready();
  const sent = await send(0, 'retry', 'retry');
  await waitFor('the redelivery', () => deliveries.length >= 2, 60000);
  await sleep(SETTLE_MS);
  assert.equal(deliveries.length, 2, 'one delivery and one redelivery');
  const [first, again] = deliveries;
  for (const d of deliveries) {
    assert.equal(d.key, sent.key);
    assert.equal(d.keys, sent.keys);
    assert.equal(d.body, sent.body);
    assert.equal(d.tag, 'retry');
    // ali-ons restores the original topic from RETRY_TOPIC before calling the handler.
    assert.equal(d.topic, topic);
  }
  assert.equal(first.reconsumeTimes, 0);
  assert.equal(again.reconsumeTimes, 1);
  await consumer.close();
  assertNoErrors();
});
