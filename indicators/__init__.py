"""Management indicators as data (indicators.yml, computed in PostGIS, cached by the versions of
the tables they read) and licences that expire by themselves (issue 16 parts 1 and 3)."""
