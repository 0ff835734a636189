-- Failure modes that name the outcome itself (the call ended without what the caller came for)
-- rather than a cause: lost conversions compare calls with a cause against calls with none, and
-- an outcome mode would make every "clean" call a converted one by definition.
ALTER TABLE failure_modes ADD COLUMN describes_outcome BOOLEAN DEFAULT false;
UPDATE failure_modes SET describes_outcome = true WHERE name = 'goal_not_met';

-- Customer-reported issues imported from a CSV (python -m ingest complaints PATH): test cases for
-- the judges beside the reviewed calls marked "make this a test case".
CREATE TABLE complaints (
    complaint_id       VARCHAR PRIMARY KEY, -- hash of call id, text and label, so re-import is harmless
    call_id            VARCHAR NOT NULL,
    complaint          VARCHAR NOT NULL,    -- the customer's words, untrusted
    reported_label     VARCHAR NOT NULL,    -- a failure mode as the file named it
    source_file        VARCHAR,
    imported_at        TIMESTAMP NOT NULL
);
