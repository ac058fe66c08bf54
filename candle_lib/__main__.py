"""``python -m candle_lib``: the ``candle`` command (see :mod:`candle_lib.cli.commands`)."""

from candle_lib.cli.commands import console_main

console_main()
