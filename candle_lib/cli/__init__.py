"""The ``candle`` command (also ``python -m candle_lib``)."""

from candle_lib.cli.commands import console_main, main

__all__ = ["console_main", "main"]
