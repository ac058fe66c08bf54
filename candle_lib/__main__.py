"""``python -m candle_lib``: the ``candle`` command (see :mod:`candle_lib.cli.main`)."""

from candle_lib.cli.main import main

raise SystemExit(main())
