-- Catalogs, databases and views, as in the course. Run it with:
-- flinkrs sql -f examples/sql/catalog-and-views.sql
CREATE CATALOG course WITH ('type' = 'generic_in_memory');
USE CATALOG course;
CREATE DATABASE shop;
USE shop;
SHOW CATALOGS;
SHOW DATABASES;

CREATE TABLE orders (
  order_id BIGINT,
  product STRING,
  quantity INT
) WITH (
  'connector' = 'datagen',
  'number-of-rows' = '6',
  'fields.order_id.kind' = 'sequence',
  'fields.order_id.start' = '1',
  'fields.order_id.end' = '6',
  'fields.product.kind' = 'sequence',
  'fields.product.start' = '1',
  'fields.product.end' = '6',
  'fields.quantity.kind' = 'sequence',
  'fields.quantity.start' = '10',
  'fields.quantity.end' = '15'
);
CREATE VIEW big_orders AS SELECT order_id, quantity FROM orders WHERE quantity >= 13;
SHOW TABLES;
SHOW VIEWS;
DESCRIBE orders;

SET 'execution.runtime-mode' = 'batch';
SELECT * FROM big_orders;
SELECT COUNT(*) AS n, SUM(quantity) AS total FROM course.shop.big_orders;

DROP VIEW big_orders;
USE CATALOG default_catalog;
DROP CATALOG course;
SHOW CATALOGS;
