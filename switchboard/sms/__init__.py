"""SMS/MMS messaging: sending through a carrier, delivery, inbound messages into chats."""
