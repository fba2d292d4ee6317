"""warmline.web."""
