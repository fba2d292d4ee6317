"""warmline.storage."""
