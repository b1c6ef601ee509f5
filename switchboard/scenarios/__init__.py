"""scenarios domain."""
