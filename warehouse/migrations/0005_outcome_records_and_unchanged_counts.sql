-- Outcome exports key their rows by the export's own record id when the mapping names one
-- (several deals or surveys for one call are then kept apart), and keep the CRM stage as written.
ALTER TABLE outcomes ADD COLUMN record_id VARCHAR;
ALTER TABLE outcomes ADD COLUMN stage VARCHAR;
-- A run's counts balance: read = loaded + updated + unchanged + quarantined, all in the run's unit.
ALTER TABLE ingest_runs ADD COLUMN records_unchanged BIGINT DEFAULT 0;
ALTER TABLE ingest_runs ADD COLUMN unit VARCHAR;
