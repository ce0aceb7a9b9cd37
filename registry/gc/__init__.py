"""Garbage collection: what may have become unreferenced is queued, then re-checked and removed.

Above the OCI data model: the OCI store tells this slice about dropped references
through its hooks; nothing below imports it. Beside the queue (:mod:`.queue`):
:mod:`.fsck` compares the database with the blob store and feeds the queue, and
:mod:`.uploads` expires abandoned upload sessions while the server runs.
"""
