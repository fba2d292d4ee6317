"""Automation: answers, actions and the reply composer."""
