"""``python -m mvbench`` runs the command line."""

from mvbench.cli import main

main()
