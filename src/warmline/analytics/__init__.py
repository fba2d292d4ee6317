"""warmline.analytics."""
