"""The reprint hub: registered outputs, reprints and attribution, every decision logged.

Flow 4 (register an output) and flow 5 (reprint) of the design brief. The format
checks are :mod:`verifier.provenance`'s, run here on the exact bytes received;
the model check asks the registry whether the chain's root is a registered
version whose signature verifies; every accepted registration or reprint is
appended to the transparency log (:mod:`registry.tlog`) and answered with a
receipt. ADR 0010 records the decisions.
"""

from registry.hub.api import HubController
from registry.hub.config import Hub, build_hub

__all__ = ["Hub", "HubController", "build_hub"]
