"""``python -m ebbtide`` runs the ``ebbtide`` command."""

from ebbtide.cli import main

main()
