"""progress: a multi-tenant xAPI 1.0.3 Learning Record Store."""
