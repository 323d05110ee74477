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
