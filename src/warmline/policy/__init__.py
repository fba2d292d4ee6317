"""Policy: triggers that return reasons, and the decision they add up to."""
