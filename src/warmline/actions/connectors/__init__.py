"""Connectors: how an action reaches the business's systems (`base.Connector`)."""
