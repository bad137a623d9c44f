"""Model runtimes: load an artifact file and run a batch. Pure Python, no Django imports."""
