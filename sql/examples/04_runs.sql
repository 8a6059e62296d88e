-- The last runs and what transform did with them
SELECT run_id, stream, kind, status, records, inserted, updated, unchanged, stale, quarantined FROM rawland.run_history LIMIT 10;
