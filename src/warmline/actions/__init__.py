"""Routine actions the bot completes itself: defined as data (`spec.py`, `loader.py`,
`default.yaml`), run through connectors to the business's systems (`connectors/`)."""
