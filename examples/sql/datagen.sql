-- A datagen table, as in the course's Table API job: a sequence of ids, random names and
-- ages, 20 rows. Run it with: flinkrs sql -f examples/sql/datagen.sql
SET 'execution.runtime-mode' = 'batch';
SET 'sql-client.execution.result-mode' = 'tableau';

CREATE TABLE people (
  id INT,
  name STRING,
  age INT
) WITH (
  'connector' = 'datagen',
  'number-of-rows' = '20',
  'fields.id.kind' = 'sequence',
  'fields.id.start' = '1',
  'fields.id.end' = '20',
  'fields.name.length' = '6',
  'fields.age.min' = '18',
  'fields.age.max' = '65'
);

SELECT id, name, age, age >= 40 AS over_forty FROM people WHERE id <= 5;
