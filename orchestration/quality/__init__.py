"""The quality gate: Great Expectations suites (files under expectations/) run on DuckDB tables."""
