-- Why records were quarantined, most frequent first
SELECT stream, path, reason, waiting, replayed FROM rawland.quarantine_summary LIMIT 20;
