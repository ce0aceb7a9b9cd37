"""The registry as a TUF repository: metadata that python-tuf's ``ngclient`` accepts.

- ``root`` (root key), ``timestamp``, ``snapshot`` and the top-level ``targets``
  (the registry's online key), with short configurable expiries;
- one delegated, terminating targets role per namespace, named after it, with
  paths ``<namespace>/*/*/*`` and that namespace's keys and threshold;
- targets ``<ns>/<model>/<version>/<file>``, ``<ns>/<model>/<version>/@manifest``
  and ``<ns>/<model>/@alias/<alias>`` (see :mod:`registry.tuf.catalog`);
- large namespaces split into hashed bins ``<ns>@bin-<hex>`` (:mod:`registry.tuf.bins`).

Tag changes mark their namespace (:func:`namespace_changed`, in the same
transaction); the next ``GET /tuf/timestamp.json`` publishes. Example::

    custody tuf init --root-out root.json      # then point ngclient at {registry}/tuf/
"""

# Kept light: the OCI store's hook (TufMarks) needs no more. The service and the
# HTTP handler live in registry.tuf.service and registry.tuf.http.
from registry.tuf.changes import TufMarks, namespace_changed

__all__ = ["TufMarks", "namespace_changed"]
