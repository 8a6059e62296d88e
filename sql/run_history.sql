-- Run history: every run, newest first, with what transform did with it.
CREATE OR REPLACE VIEW rawland.run_history AS
SELECT
    r.run_id,
    r.stream,
    r.kind,
    r.status,
    r.started_at,
    r.finished_at,
    r.finished_at - r.started_at AS duration,
    r.records,
    r.inserted,
    r.updated,
    r.unchanged,
    r.stale,
    r.duplicates,
    r.quarantined,
    t.transformed_at,
    r.cursor_before,
    r.cursor_after,
    r.error
FROM rawland.runs r
LEFT JOIN rawland.transformed t USING (stream, run_id)
ORDER BY r.run_id DESC;
