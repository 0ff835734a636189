-- How the call ended: one of warehouse/end_reasons.py's words (completed, caller_hung_up,
-- transferred, voicemail, error), NULL when the source does not say.
ALTER TABLE calls ADD COLUMN end_reason VARCHAR;
