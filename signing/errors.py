"""The root error of the ``signing`` package."""


class SigningError(Exception):
    """Root of every error raised by ``signing``."""

    def diagnostics(self) -> str:
        """A human-readable explanation, for a CLI line or a log."""
        return str(self)
