"""`python -m warmline` runs the CLI."""

from warmline.cli import main

main()
