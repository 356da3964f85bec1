"""Dagster code for the bitcoin-miner equities warehouse: source -> raw -> dbt -> gate -> publish."""
