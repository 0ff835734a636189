"""Judges pre-annotate calls before the weekly review: LLM judges (Anthropic, OpenAI) and an offline
rule-based judge. Each judge is a TOML file in this folder; `python -m judges` runs them."""
