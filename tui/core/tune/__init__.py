"""Tune: a model's config edited, applied as an override, swept against load, and written back."""
