"""Genesys Mobile Services (GMS): services (request-interaction, request-access,
match-interaction, request-chat, callback), the Storage API with TTLs, and the Chat API
v2 adapter onto our chat engine. The HTTP surface is ``switchboard.api.gms``."""
