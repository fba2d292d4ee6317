"""Emotion: lexical signals, the learned model and the conversation trajectory (docs/emotion.md)."""
