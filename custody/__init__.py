"""The ``custody`` command line: the composition root of the three packages.

It owns only the root command (the version it prints is :mod:`signing.version`'s,
which the service shares); each package owns its own sub-commands and is imported
lazily, so an edge install without the ``registry`` extra still has a working
``custody`` for signing and verifying.

Example::

    $ custody --version
    custody 0.1.0
"""

from signing.version import __version__

__all__ = ["__version__"]
