"""What the Makefile starts: make run, make note, make docs, make ui, make doctor."""
