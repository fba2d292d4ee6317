"""warmline.api."""
