"""warmline: automate the task, humanize the relationship."""

__version__ = "0.1.0"
