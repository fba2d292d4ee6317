"""Handoff: the packet, the queue and routing, agent coaching."""
