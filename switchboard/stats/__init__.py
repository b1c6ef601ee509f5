"""The real-time statistics engine: per-tenant snapshots computed once per interval and
shared by every viewer, subscriptions stored in the database, team messages."""
