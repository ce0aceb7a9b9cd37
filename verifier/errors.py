"""The root error of the ``verifier`` package."""


class VerificationError(Exception):
    """Root of every error raised by ``verifier``: the thing checked is not trusted."""

    def diagnostics(self) -> str:
        """A human-readable explanation, for a CLI line or a log."""
        return str(self)
