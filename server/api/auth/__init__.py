"""Sign-in API: web sessions, who am I, and personal API tokens."""
