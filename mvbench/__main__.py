"""``python -m mvbench`` runs the command line."""
from .cli import main

main()
