-- Freshness per stream: when data last landed and was loaded, and what waits.
CREATE OR REPLACE VIEW rawland.freshness AS
SELECT
    r.stream,
    max(r.finished_at) FILTER (WHERE r.status IN ('committed', 'transformed'))            AS last_landed_at,
    max(t.transformed_at)                                                                AS last_transformed_at,
    arg_max(r.cursor_after, r.run_id) FILTER (WHERE r.kind = 'ingest'
                                               AND r.status IN ('committed', 'transformed')
                                               AND r.cursor_after <> '')                 AS cursor,
    count(*) FILTER (WHERE r.status IN ('committed', 'transformed') AND t.run_id IS NULL) AS runs_waiting,
    max(r.started_at) FILTER (WHERE r.kind = 'reconcile' AND r.complete)                 AS last_full_resync,
    now() - max(r.finished_at) FILTER (WHERE r.status IN ('committed', 'transformed'))   AS age
FROM rawland.runs r
LEFT JOIN rawland.transformed t USING (stream, run_id)
GROUP BY r.stream
ORDER BY r.stream;
