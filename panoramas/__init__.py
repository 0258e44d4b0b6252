"""360-degree street-level panoramas."""
