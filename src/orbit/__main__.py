"""``python -m orbit``: the same as the ``orbit`` command."""

from orbit.cli.main import main

main()
