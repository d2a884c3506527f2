"""Audit: the one call every security-relevant action goes through, and its append-only rows."""
