"""One exception type for bad input, carrying where the problem is."""


class CandleInputError(ValueError):
    """Bad input data or configuration.

    The message always names the file (or config key) and, where it applies, the row, column or
    key at fault, so that a researcher can fix the input without reading a traceback.
    """

    def __init__(self, message: str, *, source: str | None = None, where: str | None = None):
        self.message = message  # without the source and where prefix
        self.source = source
        self.where = where
        parts = []
        if source:
            parts.append(str(source))
        if where:
            parts.append(str(where))
        prefix = ": ".join(parts)
        super().__init__(f"{prefix}: {message}" if prefix else message)
