"""The registry's command lines, in one place: each module registers its commands.

``serve`` (``serve``, ``db``), ``access`` (``token``, ``namespace``), ``tuf`` and ``log``
(``log-key``) list theirs in ``COMMANDS``; ``support`` (the data directory option, settings,
one committed transaction) and ``views`` (what the listings read) sit under them. The root,
:mod:`custody.cli`, imports these modules lazily by dotted path, so ``custody`` works without
the ``registry`` extra.
"""
