"""services domain."""
