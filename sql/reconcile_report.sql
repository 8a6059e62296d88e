-- Reconcile report: per full resync, what it added, changed, deleted and undeleted.
CREATE OR REPLACE VIEW rawland.reconcile_report AS
SELECT
    r.run_id,
    r.stream,
    r.started_at,
    r.complete,
    r.status,
    r.records,
    r.inserted AS added,
    r.updated - coalesce(json_extract(t.report, '$.undeleted')::BIGINT, 0) AS changed,
    r.unchanged,
    coalesce(json_extract(t.report, '$.reconcile.deleted')::BIGINT, 0) AS deleted,
    coalesce(json_extract(t.report, '$.undeleted')::BIGINT, 0) AS undeleted,
    r.quarantined,
    json_extract_string(t.report, '$.reconcile.note') AS note
FROM rawland.runs r
LEFT JOIN rawland.transformed t USING (stream, run_id)
WHERE r.kind = 'reconcile'
ORDER BY r.run_id DESC;
