"""routing domain: the skill-based routing engine and its background worker."""
