"""Demo data for Callboard: a seeded generator that writes the same files real ingest reads (OTLP/JSON
traces, CRM and survey CSV exports with their mapping files, prompt files), so that the demo warehouse
is built by the real ingest code and shows patterns the dashboard must reveal."""
