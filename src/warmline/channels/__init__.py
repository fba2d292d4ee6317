"""warmline.channels."""
