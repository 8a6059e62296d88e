-- How fresh each stream is
SELECT stream, last_landed_at, last_transformed_at, runs_waiting, cursor FROM rawland.freshness;
