"""The ``candle`` command (also ``python -m candle_lib``)."""

from candle_lib.cli.commands import main

__all__ = ["main"]
