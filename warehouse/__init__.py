"""The warehouse: DuckDB schema, connections, and every query Callboard runs."""
