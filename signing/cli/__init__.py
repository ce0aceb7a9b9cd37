"""Signing's command lines, in one place: each module registers its commands.

``sign`` (``keygen``, ``sign``), ``sbom`` and ``provenance`` (``latent sign``, ``latent salt``,
``output sign``) list theirs in ``COMMANDS``. The root, :mod:`custody.cli`, imports these
modules lazily by dotted path.
"""
