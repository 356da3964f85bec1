"""Stage 4, publish: the atomic publication of the marts and their exports, and the publish asset."""
