"""Customer chat sessions, their durable event log and files."""
