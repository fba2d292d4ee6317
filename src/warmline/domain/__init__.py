"""Typed events and the state rebuilt from them."""
