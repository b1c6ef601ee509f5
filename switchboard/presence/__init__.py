"""Agent desktop presence: who still has a desktop open (issue 13)."""
