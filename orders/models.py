"""Order tables: filled in by the orders feature."""
