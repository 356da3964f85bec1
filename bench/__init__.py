"""`make bench`: the pipeline timed at several scales against a hand-written DuckDB SQL baseline."""
