-- How the upstream's shape drifted from the schema
SELECT stream, path, kind, records, first_seen, example FROM rawland.drift_summary LIMIT 20;
