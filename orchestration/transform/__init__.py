"""Stage 2, transform: the dbt project, its assets and what they record, and the dbt docs site."""
