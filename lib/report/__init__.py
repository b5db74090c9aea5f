"""What a reader sees: figures, tables, the prose built from numbers, and the results files they read."""
