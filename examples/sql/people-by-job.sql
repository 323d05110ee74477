-- The course's people-by-job example: the average salary per job, once over the whole
-- (bounded) table in batch mode, then per 10-second window of event time in streaming mode.
-- Run it with: flinkrs sql -f examples/sql/people-by-job.sql
SET 'sql-client.execution.result-mode' = 'tableau';

CREATE TABLE people (
  id INT,
  job_code INT,
  salary INT,
  ts TIMESTAMP(3),
  job AS CASE job_code WHEN 0 THEN 'engineer' WHEN 1 THEN 'designer' ELSE 'manager' END,
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (
  'connector' = 'datagen',
  'rows-per-second' = '100',
  'number-of-rows' = '200',
  'fields.id.kind' = 'sequence',
  'fields.id.start' = '1',
  'fields.id.end' = '200',
  'fields.job_code.min' = '0',
  'fields.job_code.max' = '2',
  'fields.salary.min' = '3000',
  'fields.salary.max' = '8000',
  'fields.ts.max-past' = '30 s'
);

-- AVG of an INT column is an INT in Flink.
SET 'execution.runtime-mode' = 'batch';
SELECT job, COUNT(*) AS people, AVG(salary) AS avg_salary FROM people GROUP BY job;

-- The same per tumbling window of 10 seconds; each window is printed when the watermark
-- passes its end.
SET 'execution.runtime-mode' = 'streaming';
SELECT window_start, window_end, job, AVG(salary) AS avg_salary
FROM TABLE(TUMBLE(TABLE people, DESCRIPTOR(ts), INTERVAL '10' SECOND))
GROUP BY window_start, window_end, job;
