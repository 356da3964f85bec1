"""Small modules that definitions.py assembles: resources, raw, dbt, quality, publish, schedules."""
