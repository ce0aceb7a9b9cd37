"""The ``custody`` command line: the composition root of the three packages.

It owns only the root command and the version; each package owns its own
sub-commands and is imported lazily, so an edge install without the
``registry`` extra still has a working ``custody`` for signing and verifying.

Example::

    $ custody --version
    custody 0.1.0
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("custody")
except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
