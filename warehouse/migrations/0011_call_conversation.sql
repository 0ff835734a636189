-- Each call's conversation, summarised once from its turns (warehouse/metrics.py::call_conversation
-- defines every figure; ingest stores them as it writes or rebuilds the call's turns) so that no
-- page reads every turn of a period through a window to recompute them. NULL for a call without
-- turns. Taking the call's turns in the order they started (then by turn_index), a turn's silence
-- is its start minus the latest end of the earlier turns, and it interrupts when it starts before
-- that end and its speaker is not the previous turn's. Times are read to the millisecond.
ALTER TABLE calls ADD COLUMN caller_barge_ins INTEGER;   -- customer turns that interrupt the agent
ALTER TABLE calls ADD COLUMN agent_talk_overs INTEGER;   -- agent turns that interrupt the customer
ALTER TABLE calls ADD COLUMN longest_silence_ms BIGINT;  -- the longest silence between turns (0: none);
                                                         -- dead air is longest_silence_ms >= the threshold
ALTER TABLE calls ADD COLUMN agent_speech_s DOUBLE;      -- seconds the agent's turns last
ALTER TABLE calls ADD COLUMN speech_s DOUBLE;            -- seconds every turn lasts (an overlap counts for both)
ALTER TABLE calls ADD COLUMN longest_wait_ms INTEGER;    -- the longest response_latency_ms of its agent turns

-- Existing warehouses: every call with turns, as ingest would have stored it.
UPDATE calls SET caller_barge_ins = v.caller_barge_ins, agent_talk_overs = v.agent_talk_overs,
                 longest_silence_ms = v.longest_silence_ms, agent_speech_s = v.agent_speech_s,
                 speech_s = v.speech_s, longest_wait_ms = v.longest_wait_ms
FROM (
    SELECT call_id,
           count(*) FILTER (WHERE over AND speaker = 'customer')::INTEGER AS caller_barge_ins,
           count(*) FILTER (WHERE over AND speaker = 'agent')::INTEGER AS agent_talk_overs,
           max(CASE WHEN start_ms - heard_until > 0 THEN start_ms - heard_until ELSE 0 END) AS longest_silence_ms,
           sum((end_ms - start_ms)::DOUBLE / 1000 * (speaker = 'agent')::DOUBLE) AS agent_speech_s,
           sum((end_ms - start_ms)::DOUBLE / 1000) AS speech_s,
           max(response_latency_ms) AS longest_wait_ms
    FROM (
        SELECT *, start_ms < heard_until AND speaker <> previous_speaker AS over
        FROM (
            SELECT call_id, speaker, start_ms, end_ms, response_latency_ms,
                   max(end_ms) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS heard_until,
                   lag(speaker) OVER w AS previous_speaker
            FROM (SELECT *, epoch_ms(started_at) AS start_ms, epoch_ms(ended_at) AS end_ms FROM turns)
            WINDOW w AS (PARTITION BY call_id ORDER BY start_ms, turn_index)
        )
    )
    GROUP BY call_id
) v
WHERE calls.call_id = v.call_id;
