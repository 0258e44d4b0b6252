"""Spatial permit checks served as OGC API Processes."""
