"""Cross-cutting infrastructure: settings, database, event bus, errors, security."""
