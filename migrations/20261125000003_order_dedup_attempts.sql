-- seckill-service: the dedup table records attempts, so a redelivered message is always
-- recognised while a FAILED order never blocks the same user's later attempt.
--
-- A FAILED order gives the user's place back, so the user may try again with a new gate
-- request: same business key "<goodsId>-<userId>", new requestId. The dedup key is therefore
-- the attempt key "<goodsId>-<userId>#<requestId>" (one row per settled attempt, SUCCESS or
-- FAILED); "one order per user and goods" stays with order_records' unique
-- (goods_id, user_id). Both unique keys are hit by a redelivery even on an instance whose
-- bloom filter never saw the key. The longer key needs a wider column.
--
-- request_id: the attempt's requestId (also inside biz_key; kept for queries).
-- order_sn: for SUCCESS the order written; for FAILED the order the user already held from
--   another attempt, if that was why the attempt was refused.
-- stock_returned (FAILED rows): 1 once the Redis place was given back, so a redelivered
--   failure re-runs the give-back only when the first run did not finish (a crash in
--   between), and never takes a place the user has taken again since.

ALTER TABLE order_dedup
    MODIFY COLUMN biz_key VARCHAR(191) NOT NULL,
    ADD COLUMN request_id VARCHAR(64) NULL AFTER biz_key,
    ADD COLUMN stock_returned TINYINT NOT NULL DEFAULT 0 AFTER order_sn;
