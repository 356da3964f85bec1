"""Shared by every stage: settings, warehouse paths, partitions, retention, the warehouse resources."""
