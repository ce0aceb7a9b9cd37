"""Network clients of the verifier: they fetch, bounded, and check what they fetch.

Kept apart from the trust core (``verifier.trust``, ``.policy``, ``.model``, ...),
which never imports them or any HTTP library, the way python-tuf keeps its
``api`` (metadata, offline) apart from ``ngclient`` (fetching):

* :mod:`verifier.clients.registry`: reads manifests, tags, referrers and blobs
  from an OCI registry, every byte checked against its digest;
* :mod:`verifier.clients.hub`: asks a reprint hub, and verifies its receipts
  and signed statements;
* :mod:`verifier.clients.log`: reads a transparency log's checkpoints, proofs
  and entries (checked by :mod:`verifier.transparency`).

* :mod:`verifier.clients.push` and :mod:`verifier.clients.publish`: the publishing
  half (blob uploads, manifest puts; hash, push, sign, attach, promote). The
  ``custody push``/``publish`` commands are their command line, and the registry's
  demo seeding pushes with them too, which it could not do from the ``custody``
  command package without importing it backwards.
"""
