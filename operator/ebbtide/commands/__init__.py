"""Sub-commands of the ``ebbtide`` command line, one module each."""
