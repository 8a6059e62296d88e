-- Reconcile report: full resyncs and what they repaired (the reconcile stage's own figures under "reconcile").
CREATE OR REPLACE VIEW rawland.reconcile_report AS
SELECT
    r.run_id,
    r.stream,
    r.started_at,
    r.complete,
    r.status,
    r.records,
    r.inserted,
    r.updated,
    r.unchanged,
    r.quarantined,
    json_extract(t.report, '$.reconcile') AS reconcile
FROM rawland.runs r
LEFT JOIN rawland.transformed t USING (stream, run_id)
WHERE r.kind = 'reconcile'
ORDER BY r.run_id DESC;
