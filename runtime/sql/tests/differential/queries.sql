-- The differential test queries. Each starts with a `-- name:` line; record.py records
-- Flink's answers into golden/<name>.<mode>.txt, and tests/differential.rs compares ours.

-- name: select_all
SELECT * FROM people;
-- name: project_rename
SELECT name AS who, age FROM people;
-- name: filter_greater
SELECT name, age FROM people WHERE age > 30;
-- name: filter_and_or
SELECT name FROM people WHERE job = 'engineer' AND (city = 'berlin' OR age < 25);
-- name: filter_is_null
SELECT name FROM people WHERE age IS NULL OR city IS NULL;
-- name: filter_between
SELECT name, salary FROM people WHERE salary BETWEEN 4500 AND 5500;
-- name: filter_in
SELECT name FROM people WHERE city IN ('paris', 'london');
-- name: filter_like
SELECT name FROM people WHERE name LIKE '%a%';
-- name: arithmetic_int
SELECT name, age + 1 AS next_age, age * 2 AS doubled FROM people;
-- name: integer_division
SELECT id, id / 3 AS third, MOD(id, 3) AS rest FROM people;
-- name: unnamed_expression
SELECT name, age - 20 FROM people;
-- name: decimal_multiply
SELECT order_id, price * quantity AS total FROM orders;
-- name: double_multiply
SELECT name, salary * 2 AS doubled FROM people;
-- name: string_case_and_length
SELECT UPPER(name) AS upper_name, LOWER(job) AS lower_job, CHAR_LENGTH(name) AS len FROM people;
-- name: string_concat
SELECT name || '@' || city AS address FROM people;
-- name: string_substring
SELECT SUBSTRING(name, 2, 3) AS part FROM people;
-- name: string_replace
SELECT REPLACE(name, 'a', 'o') AS replaced FROM people;
-- name: case_when
SELECT name, CASE WHEN age >= 40 THEN 'senior' WHEN age >= 30 THEN 'mid' ELSE 'junior' END AS band FROM people;
-- name: coalesce
SELECT name, COALESCE(city, 'unknown') AS city FROM people;
-- name: cast_values
SELECT CAST(age AS STRING) AS age_text, CAST(salary AS INT) AS salary_int, CAST('42' AS INT) + id AS forty_two FROM people;
-- name: abs_and_round
SELECT ABS(20 - age) AS distance, ROUND(salary, 1) AS rounded FROM people;
-- name: boolean_expression
SELECT name, age > 30 AS older FROM people;
-- name: timestamp_column
SELECT order_id, ts FROM orders WHERE quantity > 5;
-- name: values_rows
VALUES (1, 'a'), (2, 'b'), (3, 'c');
-- name: values_group_by
SELECT name, COUNT(*) AS cnt FROM (VALUES ('Bob'), ('Alice'), ('Bob')) AS T(name) GROUP BY name;
-- name: group_count
SELECT job, COUNT(*) AS cnt FROM people GROUP BY job;
-- name: group_sum_int
SELECT job, SUM(age) AS total FROM people GROUP BY job;
-- name: group_avg_int
SELECT job, AVG(age) AS avg_age FROM people GROUP BY job;
-- name: group_avg_double
SELECT city, AVG(salary) AS avg_salary FROM people GROUP BY city;
-- name: group_min_max
SELECT job, MIN(age) AS youngest, MAX(salary) AS top_salary FROM people GROUP BY job;
-- name: group_having
SELECT job, COUNT(*) AS cnt FROM people GROUP BY job HAVING COUNT(*) > 2;
-- name: group_two_keys
SELECT job, city, COUNT(*) AS cnt FROM people GROUP BY job, city;
-- name: count_distinct
SELECT job, COUNT(DISTINCT city) AS cities FROM people GROUP BY job;
-- name: global_aggregates
SELECT COUNT(*) AS n, SUM(quantity) AS quantity, MAX(price) AS top_price FROM orders;
-- name: group_by_expression
SELECT age / 10 AS decade, COUNT(*) AS cnt FROM people GROUP BY age / 10;
-- name: where_then_group
SELECT customer, SUM(quantity) AS quantity FROM orders WHERE product <> 'banana' GROUP BY customer;
-- name: group_decimal_sum
SELECT product, SUM(price * quantity) AS revenue FROM orders GROUP BY product;
-- name: filter_over_aggregate
SELECT job, cnt FROM (SELECT job, COUNT(*) AS cnt FROM people GROUP BY job) WHERE cnt >= 3;
-- name: projection_over_aggregate
SELECT job, total * 2 AS twice FROM (SELECT job, SUM(age) AS total FROM people GROUP BY job);
-- name: view_filter
SELECT name FROM engineers WHERE age > 25;
-- name: view_aggregate
SELECT COUNT(*) AS n, AVG(age) AS avg_age FROM engineers;
-- name: tumble_count
SELECT window_start, window_end, COUNT(*) AS orders FROM TABLE(TUMBLE(TABLE orders, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY window_start, window_end;
-- name: tumble_by_product
SELECT window_start, product, SUM(quantity) AS quantity FROM TABLE(TUMBLE(TABLE orders, DESCRIPTOR(ts), INTERVAL '20' SECOND)) GROUP BY window_start, window_end, product;
-- name: tumble_having
SELECT window_end, customer, SUM(quantity) AS quantity FROM TABLE(TUMBLE(TABLE orders, DESCRIPTOR(ts), INTERVAL '20' SECOND)) GROUP BY window_start, window_end, customer HAVING SUM(quantity) > 5;
-- name: tumble_where
SELECT window_start, COUNT(*) AS orders, MAX(price) AS top_price FROM TABLE(TUMBLE(TABLE orders, DESCRIPTOR(ts), INTERVAL '15' SECOND)) WHERE customer = 'alice' GROUP BY window_start, window_end;
-- name: hop_count
SELECT window_start, window_end, COUNT(*) AS orders FROM TABLE(HOP(TABLE orders, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '10' SECOND)) GROUP BY window_start, window_end;
-- name: hop_by_customer
SELECT window_end, customer, SUM(quantity) AS quantity, MAX(price) AS top_price FROM TABLE(HOP(TABLE orders, DESCRIPTOR(ts), INTERVAL '10' SECOND, INTERVAL '30' SECOND)) GROUP BY window_start, window_end, customer;
-- name: hop_where_having
SELECT window_start, COUNT(*) AS orders FROM TABLE(HOP(TABLE orders, DESCRIPTOR(ts), INTERVAL '10' SECOND, INTERVAL '20' SECOND)) WHERE quantity > 1 GROUP BY window_start, window_end HAVING COUNT(*) > 1;
-- name: hop_rows
SELECT order_id, window_start, window_end FROM TABLE(HOP(TABLE orders, DESCRIPTOR(ts), INTERVAL '10' SECOND, INTERVAL '20' SECOND)) WHERE customer = 'bob';
-- name: cumulate_count
SELECT window_start, window_end, COUNT(*) AS orders, SUM(quantity) AS quantity FROM TABLE(CUMULATE(TABLE orders, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '20' SECOND)) GROUP BY window_start, window_end;
-- name: cumulate_by_product
SELECT window_start, window_end, product, COUNT(DISTINCT customer) AS customers FROM TABLE(CUMULATE(TABLE orders, DESCRIPTOR(ts), INTERVAL '10' SECOND, INTERVAL '30' SECOND)) GROUP BY window_start, window_end, product;
-- name: cumulate_rows
SELECT order_id, window_start, window_end FROM TABLE(CUMULATE(TABLE orders, DESCRIPTOR(ts), INTERVAL '10' SECOND, INTERVAL '20' SECOND)) WHERE product = 'cherry';
-- name: group_window_tumble
SELECT TUMBLE_START(ts, INTERVAL '10' SECOND) AS wstart, TUMBLE_END(ts, INTERVAL '10' SECOND) AS wend, COUNT(*) AS orders FROM orders GROUP BY TUMBLE(ts, INTERVAL '10' SECOND);
-- name: group_window_tumble_key
SELECT customer, TUMBLE_END(ts, INTERVAL '20' SECOND) AS wend, SUM(quantity) AS quantity FROM orders GROUP BY customer, TUMBLE(ts, INTERVAL '20' SECOND);
-- name: group_window_hop
SELECT HOP_START(ts, INTERVAL '5' SECOND, INTERVAL '10' SECOND) AS wstart, HOP_END(ts, INTERVAL '5' SECOND, INTERVAL '10' SECOND) AS wend, COUNT(*) AS orders FROM orders GROUP BY HOP(ts, INTERVAL '5' SECOND, INTERVAL '10' SECOND);
-- name: session_tvf
SELECT window_start, window_end, customer, COUNT(*) AS orders FROM TABLE(SESSION(TABLE orders PARTITION BY customer, DESCRIPTOR(ts), INTERVAL '5' SECOND)) GROUP BY window_start, window_end, customer;
-- name: group_window_session
SELECT customer, SESSION_START(ts, INTERVAL '5' SECOND) AS wstart, SESSION_END(ts, INTERVAL '5' SECOND) AS wend, COUNT(*) AS orders FROM orders GROUP BY customer, SESSION(ts, INTERVAL '5' SECOND);
-- name: union_all
SELECT name FROM people WHERE age > 40 UNION ALL SELECT customer FROM orders WHERE quantity > 4;
-- name: union_all_widening
SELECT id AS n FROM people WHERE id < 4 UNION ALL SELECT order_id FROM orders WHERE quantity > 10;
-- name: union_all_then_group
SELECT who, COUNT(*) AS cnt FROM (SELECT name AS who FROM people UNION ALL SELECT customer FROM orders) GROUP BY who;
-- name: union_all_values
SELECT product FROM orders WHERE price > 5 UNION ALL VALUES ('kiwi'), ('lime');
-- name: session_merged
SELECT window_start, window_end, customer, COUNT(*) AS orders, SUM(quantity) AS quantity FROM TABLE(SESSION(TABLE orders PARTITION BY customer, DESCRIPTOR(ts), INTERVAL '12' SECOND)) GROUP BY window_start, window_end, customer;
-- name: session_unpartitioned
SELECT window_start, window_end, COUNT(*) AS orders, MAX(price) AS top_price FROM TABLE(SESSION(TABLE orders, DESCRIPTOR(ts), INTERVAL '4' SECOND)) GROUP BY window_start, window_end;
-- name: distinct_customers
SELECT DISTINCT customer FROM orders;
-- name: distinct_pairs
SELECT DISTINCT customer, product FROM orders WHERE quantity > 1;
-- name: union_distinct
SELECT name FROM people WHERE age > 40 UNION SELECT customer FROM orders;
-- name: split_index
SELECT name, SPLIT_INDEX(name, 'a', 0) AS first_piece, SPLIT_INDEX(name, 'a', 1) AS second_piece, SPLIT_INDEX(name, 'a', 5) AS past_the_end, SPLIT_INDEX(name, 'a', -1) AS negative FROM people;
-- name: regexp_extract
SELECT name, REGEXP_EXTRACT(name, '([a-z])([a-z]+)', 2) AS tail, REGEXP_EXTRACT(name, 'x(y)', 1) AS no_match, REGEXP_EXTRACT(name, '(a)(.)') AS whole, REGEXP_EXTRACT(name, '(a)', 3) AS no_such_group FROM people;
-- name: join_inner
SELECT o.order_id, o.customer, c.city FROM orders o JOIN customers c ON o.customer = c.name;
-- name: join_left
SELECT o.order_id, c.tier FROM orders o LEFT JOIN customers c ON o.customer = c.name;
-- name: join_right
SELECT o.order_id, c.name, c.tier FROM orders o RIGHT JOIN customers c ON o.customer = c.name;
-- name: join_full
SELECT o.order_id, o.customer, c.name, c.tier FROM orders o FULL OUTER JOIN customers c ON o.customer = c.name;
-- name: join_extra_condition
SELECT o.order_id, c.city FROM orders o JOIN customers c ON o.customer = c.name AND o.quantity > 3;
-- name: join_left_extra_condition
SELECT o.order_id, o.customer, c.tier FROM orders o LEFT JOIN customers c ON o.customer = c.name AND c.tier = 'gold';
-- name: join_full_extra_condition
SELECT o.order_id, c.name FROM orders o FULL JOIN customers c ON o.customer = c.name AND o.quantity < CHAR_LENGTH(c.city);
-- name: join_where_form
SELECT o.order_id, p.category FROM orders o, products p WHERE o.product = p.product AND o.quantity > 2;
-- name: join_then_group
SELECT c.city, COUNT(*) AS orders, SUM(o.quantity) AS quantity FROM orders o JOIN customers c ON o.customer = c.name GROUP BY c.city;
-- name: join_over_group
SELECT t.customer, t.total, c.tier FROM (SELECT customer, SUM(quantity) AS total FROM orders GROUP BY customer) t JOIN customers c ON t.customer = c.name;
-- name: left_join_over_group
SELECT c.name, c.city, t.total FROM customers c LEFT JOIN (SELECT customer, SUM(quantity) AS total FROM orders GROUP BY customer) t ON c.name = t.customer;
-- name: full_join_of_groups
SELECT a.city, a.people, b.customers FROM (SELECT city, COUNT(*) AS people FROM people GROUP BY city) a FULL JOIN (SELECT city, COUNT(*) AS customers FROM customers GROUP BY city) b ON a.city = b.city;
-- name: join_expression_keys
SELECT p.name, c.tier FROM people p JOIN customers c ON LOWER(p.name) = c.name AND p.city = c.city;
-- name: join_int_bigint_keys
SELECT p.name, o.product FROM people p JOIN orders o ON p.id = o.order_id - 1000;
-- name: join_three_tables
SELECT o.order_id, c.tier, p.category FROM orders o JOIN customers c ON o.customer = c.name LEFT JOIN products p ON o.product = p.product AND p.grams > 100;
-- name: join_null_keys
SELECT c.name, c.tier, p.name AS person FROM customers c FULL JOIN people p ON c.city = p.city AND c.name = LOWER(p.name);
-- name: interval_join_between
SELECT o.order_id, s.carrier FROM orders o JOIN shipments s ON o.order_id = s.order_id AND s.ts BETWEEN o.ts AND o.ts + INTERVAL '10' SECOND;
-- name: interval_join_comparisons
SELECT o.order_id, o.customer, s.carrier FROM orders o JOIN shipments s ON o.order_id = s.order_id AND s.ts >= o.ts - INTERVAL '5' SECOND AND s.ts < o.ts + INTERVAL '20' SECOND;
-- name: interval_join_times
SELECT o.order_id, o.ts AS ordered, s.ts AS shipped FROM orders o, shipments s WHERE o.order_id = s.order_id AND o.ts BETWEEN s.ts - INTERVAL '15' SECOND AND s.ts;
-- name: interval_join_then_tumble
SELECT window_start, window_end, COUNT(*) AS shipments, SUM(quantity) AS quantity FROM TABLE(TUMBLE(TABLE shipped, DESCRIPTOR(ts), INTERVAL '20' SECOND)) GROUP BY window_start, window_end;
-- name: top_n_per_customer
SELECT customer, order_id, quantity FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY customer ORDER BY quantity DESC) AS rn FROM orders) WHERE rn <= 2;
-- name: top_n_with_row_number
SELECT customer, order_id, rn FROM (SELECT customer, order_id, ROW_NUMBER() OVER (PARTITION BY customer ORDER BY quantity DESC) AS rn FROM orders) WHERE rn <= 2;
-- name: top_n_global
SELECT order_id, price FROM (SELECT order_id, price, ROW_NUMBER() OVER (ORDER BY price DESC, order_id) AS rn FROM orders) WHERE rn <= 3;
-- name: top_n_less_than_with_nulls
SELECT job, name, salary FROM (SELECT job, name, salary, ROW_NUMBER() OVER (PARTITION BY job ORDER BY salary DESC) AS row_num FROM people) WHERE row_num < 3;
-- name: top_n_ascending_nulls
SELECT job, name, age FROM (SELECT job, name, age, ROW_NUMBER() OVER (PARTITION BY job ORDER BY age) AS pos FROM people) WHERE pos <= 2;
-- name: dedup_first_per_customer
SELECT order_id, customer, product FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY customer ORDER BY ts ASC) AS rn FROM orders) WHERE rn = 1;
-- name: dedup_last_per_product
SELECT order_id, product, quantity FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY product ORDER BY ts DESC) AS rn FROM orders) WHERE rn = 1;
-- name: top_n_partition_by_expression
SELECT name, salary FROM (SELECT name, salary, ROW_NUMBER() OVER (PARTITION BY age / 10 ORDER BY salary DESC) AS rn FROM people) WHERE rn <= 2;
-- name: interval_join_left
SELECT o.order_id, o.customer, s.carrier FROM orders o LEFT JOIN shipments s ON o.order_id = s.order_id AND s.ts BETWEEN o.ts AND o.ts + INTERVAL '10' SECOND;
-- name: interval_join_full
SELECT o.order_id, s.order_id AS shipped_order, s.carrier FROM orders o FULL OUTER JOIN shipments s ON o.order_id = s.order_id AND s.ts >= o.ts AND s.ts <= o.ts + INTERVAL '5' SECOND;
-- name: top_n_over_group
SELECT customer, total FROM (SELECT customer, total, ROW_NUMBER() OVER (ORDER BY total DESC) AS rn FROM (SELECT customer, SUM(quantity) AS total FROM orders GROUP BY customer)) WHERE rn <= 2;
-- name: top_n_over_group_with_row_number
SELECT product, customer, total, rn FROM (SELECT product, customer, total, ROW_NUMBER() OVER (PARTITION BY product ORDER BY total DESC) AS rn FROM (SELECT product, customer, SUM(quantity) AS total FROM orders GROUP BY product, customer)) WHERE rn <= 2;
-- name: top_n_with_another_condition
SELECT customer, order_id, quantity FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY customer ORDER BY quantity DESC) AS rn FROM orders) WHERE rn <= 2 AND product <> 'banana';
-- name: aggregate_filter
SELECT customer, COUNT(*) AS orders, COUNT(*) FILTER (WHERE quantity > 1) AS multiples, SUM(price) FILTER (WHERE product <> 'apple') AS not_apples, COUNT(DISTINCT product) FILTER (WHERE quantity > 1) AS multiple_products FROM orders GROUP BY customer;
-- name: window_filter
SELECT window_start, COUNT(*) AS orders, MAX(price) FILTER (WHERE quantity > 1) AS top_multiple FROM TABLE(TUMBLE(TABLE orders, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY window_start, window_end;
-- name: order_by_limit
SELECT name, age FROM people ORDER BY age DESC, name LIMIT 4;
-- name: order_by_offset
SELECT name, city FROM people ORDER BY city, name LIMIT 3 OFFSET 2;
-- name: partitioned_select_all
SELECT * FROM visits;
-- name: partitioned_filter_on_partition
SELECT page, visitor, hr FROM visits WHERE dt = '2024-01-01' AND hr = 10;
-- name: partitioned_group_by_partition
SELECT dt, hr, COUNT(*) AS visits, SUM(seconds) AS seconds FROM visits GROUP BY dt, hr;
-- name: partitioned_filter_on_data_and_partition
SELECT visitor, dt FROM visits WHERE seconds > 2 AND hr > 9;
-- name: over_range_unbounded_per_customer
SELECT order_id, customer, quantity, SUM(quantity) OVER (PARTITION BY customer ORDER BY ts RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running_quantity, COUNT(*) OVER (PARTITION BY customer ORDER BY ts RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS orders_so_far FROM orders;
-- name: over_rows_bounded_per_product
SELECT order_id, product, price, AVG(price) OVER w AS avg_price, MIN(price) OVER w AS min_price, MAX(price) OVER w AS max_price FROM orders WINDOW w AS (PARTITION BY product ORDER BY ts ROWS BETWEEN 1 PRECEDING AND CURRENT ROW);
-- name: over_range_interval_global
SELECT order_id, quantity, COUNT(*) OVER w AS recent_orders, SUM(quantity) OVER w AS recent_quantity FROM orders WINDOW w AS (ORDER BY ts RANGE BETWEEN INTERVAL '10' SECOND PRECEDING AND CURRENT ROW);
-- name: over_rows_unbounded_avg_int
SELECT order_id, customer, AVG(quantity) OVER (PARTITION BY customer ORDER BY ts ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS avg_quantity FROM orders;
-- name: over_range_ties_unbounded
SELECT reading, sensor, reading_value, COUNT(reading_value) OVER w AS readings_so_far, SUM(reading_value) OVER w AS total, MAX(reading_value) OVER w AS highest FROM readings WINDOW w AS (PARTITION BY sensor ORDER BY ts RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW);
-- name: over_range_ties_bounded
SELECT reading, sensor, COUNT(*) OVER w AS readings_in_3s, MIN(reading_value) OVER w AS lowest, AVG(reading_value) OVER w AS average FROM readings WINDOW w AS (PARTITION BY sensor ORDER BY ts RANGE BETWEEN INTERVAL '3' SECOND PRECEDING AND CURRENT ROW);
-- name: over_default_frame
SELECT reading, SUM(reading_value) OVER (PARTITION BY sensor ORDER BY ts) AS total FROM readings;
-- name: over_rows_current_row_with_filter
SELECT order_id, SUM(quantity) OVER (ORDER BY ts ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS last_three, quantity * 2 AS doubled FROM orders WHERE quantity > 1;
-- name: over_non_time_order
SELECT order_id, SUM(quantity) OVER (PARTITION BY customer ORDER BY order_id ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS pair FROM orders;
-- name: over_following
SELECT order_id, SUM(quantity) OVER (ORDER BY ts ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING) AS around FROM orders;
-- name: rank_ties_per_sensor
SELECT reading, sensor, rk FROM (SELECT reading, sensor, RANK() OVER (PARTITION BY sensor ORDER BY ts) AS rk FROM readings) WHERE rk <= 3;
-- name: dense_rank_ties_per_sensor
SELECT reading, sensor, rk FROM (SELECT reading, sensor, DENSE_RANK() OVER (PARTITION BY sensor ORDER BY ts) AS rk FROM readings) WHERE rk <= 3;
-- name: rank_top_quantity_unselected
SELECT customer, order_id FROM (SELECT customer, order_id, RANK() OVER (PARTITION BY customer ORDER BY quantity DESC) AS rk FROM orders) WHERE rk <= 2;
-- name: dense_rank_by_value
SELECT sensor, reading_value, dr FROM (SELECT sensor, reading_value, DENSE_RANK() OVER (PARTITION BY sensor ORDER BY reading_value DESC) AS dr FROM readings) WHERE dr < 3;
-- name: join_non_equi
SELECT a.name, b.name AS older FROM people a JOIN people b ON a.age < b.age - 15;
-- name: join_or_condition
SELECT a.name, b.name AS other FROM people a, people b WHERE a.age > b.age + 20 OR (a.id = b.id AND a.city = 'berlin');
-- name: cross_join
SELECT c.name, p.product FROM customers c CROSS JOIN products p;
-- name: left_join_non_equi
SELECT c.name, p.product FROM customers c LEFT JOIN products p ON p.grams > 150 AND c.tier = 'gold';
-- name: aggregate_of_aggregate_count
SELECT cnt, COUNT(*) AS jobs FROM (SELECT job, COUNT(*) AS cnt FROM people GROUP BY job) GROUP BY cnt;
-- name: aggregate_of_aggregate_sum_avg
SELECT SUM(total) AS total, AVG(total) AS average, COUNT(*) AS cities FROM (SELECT city, SUM(age) AS total FROM people GROUP BY city);
-- name: aggregate_of_aggregate_min_max
SELECT MIN(top_salary) AS lowest_top, MAX(top_salary) AS highest_top FROM (SELECT job, MAX(salary) AS top_salary FROM people GROUP BY job);
-- name: aggregate_of_aggregate_by_key
SELECT customer, MAX(quantity) AS most, MIN(quantity) AS least FROM (SELECT customer, product, SUM(quantity) AS quantity FROM orders GROUP BY customer, product) GROUP BY customer;
-- name: aggregate_of_join_changelog
SELECT c.tier, COUNT(*) AS orders FROM orders o LEFT JOIN customers c ON o.customer = c.name GROUP BY c.tier;
