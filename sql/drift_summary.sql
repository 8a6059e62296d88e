-- Drift summary: how each stream's upstream shape moved away from its schema.
CREATE OR REPLACE VIEW rawland.drift_summary AS
SELECT
    stream,
    path,
    kind,
    sum(count)::BIGINT            AS records,
    count(DISTINCT run_id)        AS runs,
    min(first_seen)               AS first_seen,
    max(run_id)                   AS last_run_id,
    arg_max(example, run_id)      AS example
FROM rawland.drift
GROUP BY stream, path, kind
ORDER BY stream, records DESC, path;
