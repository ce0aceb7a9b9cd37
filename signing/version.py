"""The installed distribution's version: one source for the command line and the service.

In ``signing`` because every package imports it and it imports none of them: the
registry's OpenAPI document names the version without importing the ``custody``
command package.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("custody")
except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
