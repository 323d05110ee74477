-- The tables of the differential tests. ${DATA} is this folder's data/ directory.
CREATE TABLE people (
  id INT,
  name STRING,
  job STRING,
  age INT,
  salary DOUBLE,
  city STRING
) WITH (
  'connector' = 'filesystem',
  'path' = '${DATA}/people.csv',
  'format' = 'csv',
  'csv.ignore-parse-errors' = 'true'
);
CREATE TABLE orders (
  order_id BIGINT,
  customer STRING,
  product STRING,
  quantity INT,
  price DECIMAL(10, 2),
  ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '2' SECOND
) WITH (
  'connector' = 'filesystem',
  'path' = '${DATA}/orders.csv',
  'format' = 'csv'
);
CREATE VIEW engineers AS SELECT name, age, salary FROM people WHERE job = 'engineer';
CREATE TABLE customers (
  name STRING,
  city STRING,
  tier STRING
) WITH (
  'connector' = 'filesystem',
  'path' = '${DATA}/customers.csv',
  'format' = 'csv'
);
CREATE TABLE products (
  product STRING,
  category STRING,
  grams INT
) WITH (
  'connector' = 'filesystem',
  'path' = '${DATA}/products.csv',
  'format' = 'csv'
);
CREATE TABLE shipments (
  order_id BIGINT,
  carrier STRING,
  ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '2' SECOND
) WITH (
  'connector' = 'filesystem',
  'path' = '${DATA}/shipments.csv',
  'format' = 'csv'
);
CREATE VIEW shipped AS SELECT o.order_id, o.quantity, s.carrier, s.ts FROM orders o JOIN shipments s ON o.order_id = s.order_id AND s.ts BETWEEN o.ts AND o.ts + INTERVAL '10' SECOND;
CREATE TABLE visits (
  page STRING,
  visitor STRING,
  seconds INT,
  dt STRING,
  hr INT
) PARTITIONED BY (dt, hr) WITH (
  'connector' = 'filesystem',
  'path' = '${DATA}/visits',
  'format' = 'csv'
);
CREATE TABLE readings (
  reading STRING,
  sensor STRING,
  ts TIMESTAMP(3),
  reading_value INT,
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND
) WITH (
  'connector' = 'filesystem',
  'path' = '${DATA}/readings.csv',
  'format' = 'csv'
);
