"""Reports about runs: coverage.py coverage of what a corpus reaches (``coverage``) and the
self-contained HTML campaign report (``campaign``)."""
