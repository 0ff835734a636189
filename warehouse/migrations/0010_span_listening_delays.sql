-- The first two stages of the caller's wait as a stack measures them on the span around the caller's
-- turn (LiveKit Agents' `user_turn`; warehouse/trace_mapping.py names each stack's attribute), for
-- a stack that sends no speech-to-text or end-of-turn span lasting until those stages end: ms from the
-- caller's last word until the stack decided their turn had ended, and until it had their final
-- transcript. warehouse/metrics.py::wait_stages reads them before the stage spans' ends.
ALTER TABLE spans ADD COLUMN end_of_turn_delay_ms DOUBLE;
ALTER TABLE spans ADD COLUMN transcription_delay_ms DOUBLE;
