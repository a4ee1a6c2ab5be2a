"""Needs of parks and counties, and matching both ways (``routes``)."""
