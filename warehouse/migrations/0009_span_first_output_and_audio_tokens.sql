-- What voice stacks report on a span beyond the GenAI basics (warehouse/trace_mapping.py names
-- each stack's attribute): ms from the span's start to an LLM's first token or a TTS's first audio
-- byte, which is where the caller's wait for the model ends when the reply streams; and the audio
-- part of a realtime model's tokens (already counted in input_tokens and output_tokens).
ALTER TABLE spans ADD COLUMN first_output_ms DOUBLE;
ALTER TABLE spans ADD COLUMN input_audio_tokens BIGINT;
ALTER TABLE spans ADD COLUMN output_audio_tokens BIGINT;
