"""Dialogue state: which task the customer is doing, what they asked about, and the values they
gave, tracked turn by turn against a schema of services (docs/dialogue.md)."""
