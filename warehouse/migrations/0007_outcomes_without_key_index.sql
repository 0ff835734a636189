-- outcomes loses its PRIMARY KEY index: DuckDB keeps such an index in memory, where it cannot
-- spill, so a 10M-row CRM export needed a 4 GB memory limit and spent most of its load time
-- maintaining it. outcome_id stays unique because the one writer (warehouse/outcome_loading.py)
-- deletes a changed record's row and inserts it again in one transaction, from records already
-- grouped by outcome_id. DuckDB cannot drop a constraint, so the table is rebuilt.
CREATE TABLE outcomes_rebuilt (
    outcome_id         VARCHAR NOT NULL,   -- hash of source and record, so re-import is harmless
    call_id            VARCHAR,            -- NULL while it matches no call
    trace_id           VARCHAR,
    external_key       VARCHAR NOT NULL,   -- the id as the export wrote it
    source             VARCHAR NOT NULL,   -- e.g. 'crm', 'survey'
    recorded_at        TIMESTAMP,
    booked             BOOLEAN,
    deal_value_usd     DOUBLE,
    nps                INTEGER CHECK (nps BETWEEN 0 AND 10),
    csat               INTEGER CHECK (csat BETWEEN 1 AND 5),
    resolved           BOOLEAN,
    escalated          BOOLEAN,
    extra              JSON,
    source_file        VARCHAR,
    record_id          VARCHAR,
    stage              VARCHAR
);
INSERT INTO outcomes_rebuilt SELECT outcome_id, call_id, trace_id, external_key, source, recorded_at, booked,
    deal_value_usd, nps, csat, resolved, escalated, extra, source_file, record_id, stage FROM outcomes;
DROP TABLE outcomes;
ALTER TABLE outcomes_rebuilt RENAME TO outcomes;
