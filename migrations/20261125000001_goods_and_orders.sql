-- The seed's schema (course section 12.3), tightened where the seed leaves room for bad data:
-- stock is NOT NULL and may never go below zero, and a user may hold one order per goods.
-- user_id and goods_id in order_records are BIGINT because the gate accepts any positive i64.

CREATE TABLE goods (
    id          INT            NOT NULL AUTO_INCREMENT,
    goods_name  VARCHAR(255)   NULL,
    price       DECIMAL(10, 2) NULL,
    stocks      INT            NOT NULL DEFAULT 0,
    status      INT            NULL,
    pic         VARCHAR(255)   NULL,
    create_time DATETIME       NULL,
    update_time DATETIME       NULL,
    spike       INT            NOT NULL DEFAULT 1 COMMENT 'takes part in the flash sale: 1 yes, 0 no',
    PRIMARY KEY (id),
    CONSTRAINT goods_stocks_not_negative CHECK (stocks >= 0)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

INSERT INTO goods (id, goods_name, price, stocks, status, pic, create_time, update_time, spike) VALUES
    (1, '小米12s',     4999.00, 1000, 2, 'xxxxxx', '2023-02-23 11:35:56', '2023-02-23 16:53:34', 1),
    (2, '华为mate50',  6999.00,   10, 2, 'xxxx',   '2023-02-23 11:35:56', '2023-02-23 11:35:56', 1),
    (3, '锤子pro2',    1999.00,  100, 1, NULL,     '2023-02-23 11:35:56', '2023-02-23 11:35:56', 1);

CREATE TABLE order_records (
    id          BIGINT       NOT NULL AUTO_INCREMENT,
    user_id     BIGINT       NOT NULL,
    order_sn    VARCHAR(64)  NOT NULL,
    goods_id    BIGINT       NOT NULL,
    create_time DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    PRIMARY KEY (id),
    UNIQUE KEY order_records_goods_user (goods_id, user_id),
    UNIQUE KEY order_records_order_sn (order_sn),
    KEY order_records_user (user_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
