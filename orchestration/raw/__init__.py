"""Stage 1, raw: the raw datasets' contract, the sources (demo, csv, live), the validated loader and the raw assets."""
