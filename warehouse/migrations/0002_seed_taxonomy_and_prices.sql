-- The failure-mode taxonomy the demo plants and the judges emit, and public list prices.
-- Both are ordinary rows: the app and `model_prices` edits may change them, and a row that is
-- already there (added before this migration ran) is kept as it is.

INSERT INTO failure_modes (name, description, owner, examples) VALUES
    ('hallucinated_fact', 'The agent stated a price, date, time, name or address that no tool returned, or that contradicts one.', 'engineering', 'Quoted $95 when the price lookup said $120.'),
    ('failed_tool_call', 'A tool the agent relied on returned an error or timed out.', 'engineering', 'check_availability timed out; the agent guessed.'),
    ('wrong_booking', 'A booking was made for the wrong day, time, service or person.', 'pm', 'Booked Tuesday when the caller asked for Thursday.'),
    ('escalation_loop', 'The caller asked for a person and the agent kept deflecting or transferring in circles.', 'pm', 'Three "let me transfer you" turns without a transfer.'),
    ('slow_turn', 'A long silence or slow reply the caller would notice (over 3 s).', 'engineering', 'Five seconds of silence after the caller gave a date.'),
    ('customer_repeated', 'The caller had to say the same thing again because the agent missed it.', 'pm', 'The caller spelled their name three times.'),
    ('policy_slip', 'The agent broke a policy or read out personal data it should not have.', 'pm', 'Read back a full card number.'),
    ('goal_not_met', 'The call ended without what the caller came for (no booking, no answer, no handover).', 'pm', 'Caller hung up without an appointment.')
ON CONFLICT DO NOTHING;

-- List prices as published by each provider, read on the date given. Edit them when prices move.
INSERT INTO model_prices (provider, model, input_usd_per_mtok, output_usd_per_mtok, usd_per_minute, usd_per_kchar, taken_on, source) VALUES
    ('anthropic', 'claude-opus-4-1',   15.00, 75.00, NULL, NULL, DATE '2025-08-15', 'https://www.anthropic.com/pricing'),
    ('anthropic', 'claude-sonnet-4-5',  3.00, 15.00, NULL, NULL, DATE '2025-10-01', 'https://www.anthropic.com/pricing'),
    ('anthropic', 'claude-haiku-4-5',   1.00,  5.00, NULL, NULL, DATE '2025-10-16', 'https://www.anthropic.com/pricing'),
    ('anthropic', 'claude-3-5-haiku',   0.80,  4.00, NULL, NULL, DATE '2025-06-01', 'https://www.anthropic.com/pricing'),
    ('openai',    'gpt-4o',             2.50, 10.00, NULL, NULL, DATE '2025-06-01', 'https://openai.com/api/pricing'),
    ('openai',    'gpt-4o-mini',        0.15,  0.60, NULL, NULL, DATE '2025-06-01', 'https://openai.com/api/pricing'),
    ('openai',    'gpt-4.1',            2.00,  8.00, NULL, NULL, DATE '2025-06-01', 'https://openai.com/api/pricing'),
    ('openai',    'gpt-4.1-mini',       0.40,  1.60, NULL, NULL, DATE '2025-06-01', 'https://openai.com/api/pricing'),
    ('openai',    'gpt-4.1-nano',       0.10,  0.40, NULL, NULL, DATE '2025-06-01', 'https://openai.com/api/pricing'),
    ('openai',    'gpt-5',              1.25, 10.00, NULL, NULL, DATE '2025-08-07', 'https://openai.com/api/pricing'),
    ('openai',    'gpt-5-mini',         0.25,  2.00, NULL, NULL, DATE '2025-08-07', 'https://openai.com/api/pricing'),
    ('openai',    'whisper-1',          NULL,  NULL, 0.006, NULL, DATE '2025-06-01', 'https://openai.com/api/pricing'),
    ('openai',    'tts-1',              NULL,  NULL, NULL, 0.015, DATE '2025-06-01', 'https://openai.com/api/pricing'),
    ('google',    'gemini-2.5-pro',     1.25, 10.00, NULL, NULL, DATE '2025-06-17', 'https://ai.google.dev/gemini-api/docs/pricing'),
    ('google',    'gemini-2.5-flash',   0.30,  2.50, NULL, NULL, DATE '2025-06-17', 'https://ai.google.dev/gemini-api/docs/pricing'),
    ('google',    'gemini-2.0-flash',   0.10,  0.40, NULL, NULL, DATE '2025-06-01', 'https://ai.google.dev/gemini-api/docs/pricing'),
    ('deepgram',  'nova-3',             NULL,  NULL, 0.0077, NULL, DATE '2025-06-01', 'https://deepgram.com/pricing'),
    ('deepgram',  'nova-2',             NULL,  NULL, 0.0058, NULL, DATE '2025-06-01', 'https://deepgram.com/pricing'),
    ('elevenlabs', 'eleven_flash_v2_5', NULL,  NULL, NULL, 0.05, DATE '2025-06-01', 'https://elevenlabs.io/pricing/api'),
    ('elevenlabs', 'eleven_multilingual_v2', NULL, NULL, NULL, 0.10, DATE '2025-06-01', 'https://elevenlabs.io/pricing/api')
ON CONFLICT DO NOTHING;
