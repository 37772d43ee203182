-- 0006: results grouped by test. Each test's results are read, and counted,
-- straight off this index, newest first, without touching the table for the
-- count: a 10,000-resource record has thousands of results.
CREATE INDEX record_items_results ON record_items(person_id, section, code_system, code, date, value);
