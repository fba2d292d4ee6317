"""warmline.understanding."""
