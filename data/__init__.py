"""Sample data: a deterministic synthetic Dammam-metropolitan city and its loader."""
