-- Quarantine summary: records that failed validation, by stream, field and reason.
CREATE OR REPLACE VIEW rawland.quarantine_summary AS
SELECT
    q.stream,
    e.err.path                                   AS path,
    e.err.reason                                 AS reason,
    count(*) FILTER (WHERE q.replayed_at IS NULL) AS waiting,
    count(*) FILTER (WHERE q.replayed_at IS NOT NULL) AS replayed,
    count(DISTINCT q.run_id)                     AS runs,
    min(q.quarantined_at)                        AS first_quarantined_at,
    max(q.quarantined_at)                        AS last_quarantined_at,
    arg_max(q.run_id || ' ' || q.file || ':' || q.line, q.quarantined_at) AS example_at
FROM rawland.quarantine q, unnest(q.errors) AS e(err)
GROUP BY ALL
ORDER BY waiting DESC, q.stream, path;
