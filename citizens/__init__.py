"""Citizen services: service categories, citizens' reports and their status, the jurisdiction
of a point, and the Open311 GeoReport v2 documents (`routes.py` serves them at /open311/v2)."""
