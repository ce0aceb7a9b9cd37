"""The verifier's command lines, in one place: each module holds one command or group.

``verify`` (models, offline), ``agent`` (the edge agent), ``provenance`` (latent
chains and output manifests, offline), ``hub`` (a reprint hub: verify online,
register, reprint) and ``log`` (audit a transparency log). The root,
:mod:`custody.cli`, imports them lazily by dotted path; each lists the commands it
registers in ``COMMANDS``, keyed by their path under ``custody``.
"""
