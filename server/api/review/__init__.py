"""Approval of yield measurements: the review queue, approve and reject (``routes``; rules in catalog.review)."""
