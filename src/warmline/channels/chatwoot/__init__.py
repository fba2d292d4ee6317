"""warmline as a helpdesk's bot: Chatwoot's agent-bot protocol (docs/chatwoot.md)."""
