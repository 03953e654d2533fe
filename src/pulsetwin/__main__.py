"""Allow ``python -m pulsetwin``."""

from pulsetwin.cli.main import run

run()
