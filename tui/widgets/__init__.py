"""Reusable widgets: they render what they are given and never call Triton themselves."""
