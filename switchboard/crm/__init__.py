"""The CRM that holds the cases chats are linked to (seed 003 Get Case History, Close
Case): the ``CaseSystem`` Protocol, its implementations, and the operations that use it."""
