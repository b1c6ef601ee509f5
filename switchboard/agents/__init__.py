"""agents domain: agent sessions, ACD states, capacity per media, the realtime queue."""
