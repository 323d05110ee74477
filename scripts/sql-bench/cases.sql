-- The SQL benchmark's cases, run by both engines on the same input: each case is the
-- statements after its `-- case:` line, with ${ROWS} (the row count) and ${CSV} (a csv file
-- of ${ROWS} rows `id,k,v,ts`) filled in by bench.py. Streaming mode, parallelism 1.

-- case: datagen_filter
CREATE TABLE src (id BIGINT, k INT, v DOUBLE) WITH (
  'connector' = 'datagen', 'number-of-rows' = '${ROWS}', 'rows-per-second' = '1000000000',
  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '${ROWS}',
  'fields.k.min' = '0', 'fields.k.max' = '999', 'fields.v.min' = '0', 'fields.v.max' = '100');
CREATE TABLE sink (id BIGINT, k INT, v DOUBLE) WITH ('connector' = 'blackhole');
INSERT INTO sink SELECT id, k, v FROM src WHERE v > 50;

-- case: datagen_tumble
CREATE TABLE src (k INT, v DOUBLE, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH (
  'connector' = 'datagen', 'number-of-rows' = '${ROWS}', 'rows-per-second' = '1000000000',
  'fields.k.min' = '0', 'fields.k.max' = '999', 'fields.v.min' = '0', 'fields.v.max' = '100',
  'fields.ts.max-past' = '0 s');
CREATE TABLE sink (k INT, window_start TIMESTAMP(3), cnt BIGINT, total DOUBLE, average DOUBLE)
  WITH ('connector' = 'blackhole');
INSERT INTO sink SELECT k, window_start, COUNT(*), SUM(v), AVG(v)
  FROM TABLE(TUMBLE(TABLE src, DESCRIPTOR(ts), INTERVAL '10' SECOND))
  GROUP BY k, window_start, window_end;

-- case: csv_filter
CREATE TABLE src (id BIGINT, k INT, v DOUBLE, ts TIMESTAMP(3)) WITH (
  'connector' = 'filesystem', 'path' = '${CSV}', 'format' = 'csv');
CREATE TABLE sink (id BIGINT, k INT, v DOUBLE) WITH ('connector' = 'blackhole');
INSERT INTO sink SELECT id, k, v FROM src WHERE v > 50;

-- case: csv_tumble
CREATE TABLE src (id BIGINT, k INT, v DOUBLE, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH (
  'connector' = 'filesystem', 'path' = '${CSV}', 'format' = 'csv');
CREATE TABLE sink (k INT, window_start TIMESTAMP(3), cnt BIGINT, total DOUBLE, average DOUBLE)
  WITH ('connector' = 'blackhole');
INSERT INTO sink SELECT k, window_start, COUNT(*), SUM(v), AVG(v)
  FROM TABLE(TUMBLE(TABLE src, DESCRIPTOR(ts), INTERVAL '10' SECOND))
  GROUP BY k, window_start, window_end;
