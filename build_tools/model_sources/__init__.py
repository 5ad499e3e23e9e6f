"""Sources of the Python-backend models the repository generator installs (package data, never imported:
each file is copied as ``<model>/1/model.py`` and runs inside Triton's Python backend stub)."""
