-- seckill-service's idempotency table (course section 6.2): one row per processed business key
-- (the order message's key, "<goodsId>-<userId>"), written in the same transaction as the order,
-- so a redelivered message is recognised even after the bloom filter was rebuilt.
-- outcome: 'SUCCESS' (an order row exists) or 'FAILED' (permanently refused, stock given back).

CREATE TABLE order_dedup (
    biz_key     VARCHAR(64)  NOT NULL,
    msg_id      VARCHAR(64)  NULL,
    outcome     VARCHAR(16)  NOT NULL,
    order_sn    VARCHAR(64)  NULL,
    create_time DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    PRIMARY KEY (biz_key)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
