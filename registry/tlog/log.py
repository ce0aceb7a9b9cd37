"""The transparency log service: batched durable appends, proofs, receipts.

One writer task per process drains an asyncio queue: whatever callers queued
while the previous batch was committing goes into the next transaction, so
throughput grows with concurrency while each caller still returns only after
its entry is durable. Each batch inserts the entries, every subtree node it
completes, and a checkpoint signed with the log key, in one transaction. That
transaction runs in one call on the writer's own thread, with a synchronous
connection: through the async driver each statement would cost several thread
hand-offs (about 50 per batch on aiosqlite), which was most of an append's time.

Before appending, the writer checks that the stored right edge of the tree
reproduces the last signed root; if not, it refuses every append (fail closed)
rather than extend a tree its own checkpoints do not vouch for.

A caller that records something *because* it logged it (the hub's registration
row) passes ``rows=``: a callback run inside the batch transaction, before the
entry is placed, that returns the rows to commit with the entry or
:class:`Withdrawn` to append nothing (say, the image is registered already).
Entry and rows then commit together or not at all, with one durable commit
instead of two, and no orphan entry is left by a crash between them.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, Engine, Table, event
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from registry.db.engine import create_sync_engine
from registry.db.types import utcnow
from registry.tlog import queries
from registry.tlog.errors import (
    EntryInvalid,
    EntryRangeInvalid,
    EntryTooLarge,
    LeafHashUnknown,
    LeafIndexOutOfRange,
    LogCorrupted,
    LogKeyInvalid,
    LogUnavailable,
    TreeSizeOutOfRange,
)
from registry.tlog.records import (
    ConsistencyProof,
    InclusionProof,
    LogEntry,
    Receipt,
    SignedCheckpoint,
    StoredEntry,
)
from registry.tlog.signer import LogSigner
from registry.tlog.tree import (
    EMPTY_ROOT,
    Frontier,
    consistency_ranges,
    hash_leaf,
    hash_ranges,
    inclusion_ranges,
    nodes_for,
    peak_nodes,
)
from verifier.transparency import LogError, VerifierKey, verify_checkpoint

log = logging.getLogger("registry.tlog")

#: Most entries one ``GET /api/v1/log/entries`` returns.
MAX_ENTRIES_PER_PAGE = 1000
_RETRIES = 5


def _full_sync(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


@dataclass(frozen=True, slots=True)
class Withdrawn:
    """What a ``rows`` callback returns to append nothing; ``value`` goes back to the caller."""

    value: Any


#: A row to insert with an entry: its table and its values.
NewRow = tuple[Table, Mapping[str, Any]]

#: Called on the writer's thread, in the batch transaction, with the entry as it will be
#: placed; returns the rows to insert with it (inserted by the log, in order) or
#: :class:`Withdrawn`. It may read through the (synchronous, Core) connection but must not
#: write: a batch that is retried calls it again, and a callback that raises must leave
#: nothing behind. It must not touch the event loop.
RowsFor = Callable[[Connection, LogEntry], Sequence[NewRow] | Withdrawn]


@dataclass(slots=True)
class _Pending:
    body: bytes
    future: asyncio.Future[LogEntry | Withdrawn]
    rows: RowsFor | None = None


class TransparencyLog:
    """An append-only RFC 9162 log in the registry's database, signed with its own key."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        signer: LogSigner,
        *,
        max_entry_bytes: int = 64 * 1024,
        max_batch: int = 2000,
    ) -> None:
        self._sessionmaker = sessionmaker
        # Appends commit on a thread of their own, through an engine of their own.
        self._writer_engine: Engine | None = None
        self._writer_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tlog-writer")
        self._signer = signer
        self._max_entry_bytes = max_entry_bytes
        self._max_batch = max_batch
        self._queue: asyncio.Queue[_Pending | None] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._frontier: Frontier | None = None
        self._closed = False

    @property
    def origin(self) -> str:
        return self._signer.name

    @property
    def verifier_key(self) -> str:
        """``<name>+<hex key ID>+<base64 key>``, what auditors pass to ``custody log verify``."""
        return self._signer.verifier_key

    # -- life cycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Sign the empty tree's checkpoint if the log is new, and start the writer."""
        self._durable_writer()
        try:
            async with self._sessionmaker() as session, session.begin():
                await queries.add_empty_checkpoint(
                    session, EMPTY_ROOT, self._signer.checkpoint(0, EMPTY_ROOT)
                )
            await self._check_key_signed_the_log()
        except BaseException:
            await self.close()
            raise
        self._writer = asyncio.create_task(self._run_writer(), name="tlog-writer")

    async def _check_key_signed_the_log(self) -> None:
        """Refuse to start with a key other than the one that signed the latest checkpoint.

        A swapped key file would otherwise sign the next checkpoints with a key no
        verifier pins; better that the registry does not start and says why.
        """
        latest = await self.checkpoint()
        try:
            verify_checkpoint(latest.note, VerifierKey.parse(self.verifier_key))
        except LogError as exc:
            raise LogKeyInvalid(
                f"the log key does not verify the log's latest checkpoint (size "
                f"{latest.tree_size}): {exc}; restore the key that signed it"
            ) from None

    async def close(self) -> None:
        """Commit what is queued, then stop; later appends get :class:`LogUnavailable`."""
        self._closed = True
        if self._writer is not None:
            await self._queue.put(None)
            await self._writer
            self._writer = None
        if self._writer_engine is not None:
            engine, self._writer_engine = self._writer_engine, None
            await asyncio.get_running_loop().run_in_executor(self._writer_thread, engine.dispose)
        self._writer_thread.shutdown(wait=True)

    def _durable_writer(self) -> None:
        """The writer's synchronous engine on the same database; on SQLite ``synchronous=FULL``.

        The registry runs SQLite in WAL mode with ``synchronous=NORMAL``: a commit can
        be lost on power failure. For the log that would be worse than a lost row: a
        checkpoint already handed out in a receipt would be re-signed over different
        entries after restart, a fork signed by the log key. PostgreSQL commits are
        durable by default (``synchronous_commit=on``).
        """
        bind = self._sessionmaker.kw.get("bind")
        if not isinstance(bind, AsyncEngine):
            raise LogUnavailable("the transparency log needs a session factory bound to an engine")
        engine = create_sync_engine(bind.url.render_as_string(hide_password=False), ping=False)
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _full_sync)
        self._writer_engine = engine

    # -- writing ------------------------------------------------------------------------------

    async def append(self, body: bytes) -> LogEntry:
        """Append ``body`` durably; returns once the batch holding it has committed."""
        entry = await self.append_with_rows(body, None)
        if isinstance(entry, Withdrawn):  # pragma: no cover - only a callback withdraws
            raise AssertionError("an append without a rows callback was withdrawn")
        return entry

    async def append_with_rows(self, body: bytes, rows: RowsFor | None) -> LogEntry | Withdrawn:
        """Append ``body`` and the rows ``rows`` returns in one transaction (see the module)."""
        if not body:
            raise EntryInvalid("an empty entry records nothing")
        if len(body) > self._max_entry_bytes:
            raise EntryTooLarge(
                f"log entries are at most {self._max_entry_bytes} bytes; log hashes, not inputs"
            )
        if self._closed or self._writer is None:
            raise LogUnavailable("the transparency log is not running")
        future: asyncio.Future[LogEntry | Withdrawn] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(bytes(body), future, rows))
        return await future

    async def _run_writer(self) -> None:
        stopping = False
        while not stopping:
            item = await self._queue.get()
            batch: list[_Pending] = []
            if item is None:
                stopping = True
            else:
                batch.append(item)
            while len(batch) < self._max_batch and not stopping:
                try:
                    item = self._queue.get_nowait()
                except asyncio.QueueEmpty:
                    break
                if item is None:
                    stopping = True
                else:
                    batch.append(item)
            batch = [p for p in batch if not p.future.done()]  # cancelled callers drop out
            if batch:
                await self._write(batch)
        while not self._queue.empty():  # appended after close: refuse, never leave hanging
            late = self._queue.get_nowait()
            if late is not None and not late.future.done():
                late.future.set_exception(LogUnavailable("the transparency log shut down"))

    async def _write(self, batch: list[_Pending]) -> None:
        try:
            outcomes = await self._commit_with_retries(batch)
        except LogCorrupted as exc:
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(exc)
            return
        except Exception as exc:  # a database failure: nobody's entry was appended
            log.error("transparency log batch of %d failed", len(batch), exc_info=exc)
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(
                        LogUnavailable("the transparency log could not commit; retry later")
                    )
            return
        for pending, outcome in zip(batch, outcomes, strict=True):
            if pending.future.done():
                continue
            if isinstance(outcome, BaseException):
                pending.future.set_exception(outcome)
            else:
                pending.future.set_result(outcome)

    async def _commit_with_retries(
        self, batch: list[_Pending]
    ) -> list[LogEntry | Withdrawn | Exception]:
        for attempt in range(_RETRIES):
            try:
                return await self._commit(batch)
            except (IntegrityError, DBAPIError):
                # Another writer (a replica, or a lost SQLite race) moved the tree: reload.
                self._frontier = None
                if attempt == _RETRIES - 1:
                    raise
                await asyncio.sleep(0.01 * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _commit(self, batch: list[_Pending]) -> list[LogEntry | Withdrawn | Exception]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._writer_thread, self._commit_batch, batch)

    def _commit_batch(self, batch: list[_Pending]) -> list[LogEntry | Withdrawn | Exception]:
        """One batch, one transaction (on the writer's thread)."""
        if self._writer_engine is None:
            raise LogUnavailable("the transparency log is not running")
        with self._writer_engine.begin() as connection:
            queries.lock_writer(connection)
            latest = queries.latest_checkpoint(connection)
            if latest is None:
                raise LogCorrupted("the log has no signed checkpoint, not even the empty one")
            frontier = self._frontier
            if frontier is None or frontier.size != latest.tree_size:
                frontier = self._load_frontier(connection, latest)
            frontier = frontier.copy()
            first_index = frontier.size
            now = utcnow()
            outcomes: list[LogEntry | Withdrawn | Exception] = []
            bodies: list[bytes] = []
            leaf_hashes: list[bytes] = []
            for pending in batch:
                entry = LogEntry(first_index + len(bodies), hash_leaf(pending.body), now)
                outcome = self._rows_for(connection, pending, entry)
                outcomes.append(outcome)
                if outcome is entry:
                    bodies.append(pending.body)
                    leaf_hashes.append(entry.leaf_hash)
            if not bodies:  # every caller withdrew or failed: the tree does not move
                return outcomes
            before = dict(zip(peak_nodes(first_index), (h for _, h in frontier.peaks), strict=True))
            nodes = frontier.append(leaf_hashes)
            root = frontier.root()
            checkpoint = SignedCheckpoint(
                frontier.size, root, self._signer.checkpoint(frontier.size, root)
            )
            outcomes = _with_receipts(outcomes, checkpoint, before, nodes)
            queries.insert_batch(
                connection,
                first_index=first_index,
                leaf_hashes=leaf_hashes,
                bodies=bodies,
                integrated_at=now,
                nodes=nodes,
                checkpoint=checkpoint,
                created_at=now,
            )
        self._frontier = frontier
        return outcomes

    @staticmethod
    def _rows_for(
        connection: Connection, pending: _Pending, entry: LogEntry
    ) -> LogEntry | Withdrawn | Exception:
        """``entry`` if it is to be appended (its rows written), else what the
        caller gets instead. A callback's own failure fails only its caller; a database
        error fails (and retries) the batch."""
        if pending.rows is None:
            return entry
        try:
            made = pending.rows(connection, entry)
        except DBAPIError:
            raise
        except Exception as exc:  # noqa: BLE001 - raised to its own caller, not swallowed
            return exc
        if isinstance(made, Withdrawn):
            return made
        for table, values in made:
            queries.insert_row(connection, table, values)
        return entry

    @staticmethod
    def _load_frontier(connection: Connection, latest: SignedCheckpoint) -> Frontier:
        stored = queries.load_nodes(connection, peak_nodes(latest.tree_size))
        try:
            frontier = Frontier.from_stored(latest.tree_size, stored)
        except KeyError:
            raise LogCorrupted(
                f"subtree hashes of tree size {latest.tree_size} are missing; appends refused"
            ) from None
        if not hmac.compare_digest(frontier.root(), latest.root_hash):
            raise LogCorrupted(
                f"stored subtrees do not reproduce the signed root of size {latest.tree_size}"
            )
        return frontier

    # -- reading ------------------------------------------------------------------------------

    async def checkpoint(self) -> SignedCheckpoint:
        """The latest signed checkpoint."""
        async with self._sessionmaker() as session:
            latest = await queries.read_latest_checkpoint(session)
        if latest is None:
            raise LogUnavailable("the transparency log has not started")
        return latest

    async def _size(self, session: AsyncSession) -> int:
        latest = await queries.read_latest_checkpoint(session)
        return 0 if latest is None else latest.tree_size

    @staticmethod
    def _check_tree_size(tree_size: int, size: int) -> None:
        if not 1 <= tree_size <= size:
            raise TreeSizeOutOfRange(
                f"tree size {tree_size} is outside 1..{size} (the log's current size)"
            )

    async def inclusion_proof(self, index: int, tree_size: int | None = None) -> InclusionProof:
        """The proof that entry ``index`` is in the tree of ``tree_size`` (default: current)."""
        async with self._sessionmaker() as session:
            size = await self._size(session)
            tree_size = size if tree_size is None else tree_size
            self._check_tree_size(tree_size, size)
            if not 0 <= index < tree_size:
                raise LeafIndexOutOfRange(
                    f"index {index} is outside a tree of size {tree_size} (0..{tree_size - 1})"
                )
            return await self._inclusion(session, index, tree_size)

    async def inclusion_proof_by_leaf(
        self, leaf_hash: bytes, tree_size: int | None = None
    ) -> InclusionProof:
        """The proof for the first entry whose leaf hash is ``leaf_hash``."""
        async with self._sessionmaker() as session:
            size = await self._size(session)
            tree_size = size if tree_size is None else tree_size
            self._check_tree_size(tree_size, size)
            index = await queries.first_index_of(session, leaf_hash, tree_size)
            if index is None:
                raise LeafHashUnknown(
                    f"no entry with leaf hash {leaf_hash.hex()} in the tree of size {tree_size}"
                )
            return await self._inclusion(session, index, tree_size)

    async def _inclusion(self, session: AsyncSession, index: int, tree_size: int) -> InclusionProof:
        ranges = inclusion_ranges(index, tree_size)
        wanted = nodes_for(ranges) | {(0, index)} | set(peak_nodes(tree_size))
        stored = await queries.read_nodes(session, wanted)
        try:
            hashes = hash_ranges(ranges, stored)
            root = Frontier.from_stored(tree_size, stored).root()
            leaf = stored[(0, index)]
        except KeyError:
            raise LogCorrupted(f"subtree hashes of tree size {tree_size} are missing") from None
        return InclusionProof(index, tree_size, leaf, root, tuple(hashes))

    async def consistency_proof(self, first: int, second: int) -> ConsistencyProof:
        """The proof that the tree of size ``first`` is a prefix of the tree of ``second``."""
        async with self._sessionmaker() as session:
            size = await self._size(session)
            if not 1 <= first <= second <= size:
                raise TreeSizeOutOfRange(
                    f"consistency needs 1 <= first <= second <= {size} (the log's size); "
                    f"got first={first}, second={second}"
                )
            ranges = consistency_ranges(first, second)
            stored = await queries.read_nodes(session, nodes_for(ranges))
        try:
            hashes = hash_ranges(ranges, stored)
        except KeyError:
            raise LogCorrupted(f"subtree hashes of tree size {second} are missing") from None
        return ConsistencyProof(first, second, tuple(hashes))

    async def entries(self, start: int, end: int) -> list[StoredEntry]:
        """Entries ``start`` (inclusive) to ``end`` (exclusive), at most a page of them."""
        if end - start > MAX_ENTRIES_PER_PAGE:
            raise EntryRangeInvalid(f"at most {MAX_ENTRIES_PER_PAGE} entries per request")
        async with self._sessionmaker() as session:
            size = await self._size(session)
            if not 0 <= start < end <= size:
                raise EntryRangeInvalid(
                    f"entries need 0 <= start < end <= {size} (the log's size); "
                    f"got start={start}, end={end}"
                )
            return await queries.entries_between(session, start, end)

    async def entries_at(self, indexes: Sequence[int]) -> dict[int, StoredEntry]:
        """The entries at ``indexes`` (scattered, unlike :meth:`entries`); absent ones left out."""
        async with self._sessionmaker() as session:
            size = await self._size(session)
            inside = [i for i in indexes if 0 <= i < size]
            found = await queries.entries_at(session, inside) if inside else []
        return {entry.index: entry for entry in found}

    async def receipt(self, index: int) -> Receipt:
        """The latest signed checkpoint and the inclusion proof of ``index`` against it."""
        async with self._sessionmaker() as session:
            latest = await queries.read_latest_checkpoint(session)
            if latest is None or not 0 <= index < latest.tree_size:
                raise LeafIndexOutOfRange(f"entry {index} is not in the log yet")
            proof = await self._inclusion(session, index, latest.tree_size)
        if not hmac.compare_digest(proof.root_hash, latest.root_hash):
            raise LogCorrupted(f"stored subtrees disagree with the checkpoint of {index}")
        return Receipt(index, proof.leaf_hash, latest, proof.hashes)


def _with_receipts(
    outcomes: list[LogEntry | Withdrawn | Exception],
    checkpoint: SignedCheckpoint,
    peaks_before: dict[tuple[int, int], bytes],
    created: list[tuple[int, int, bytes]],
) -> list[LogEntry | Withdrawn | Exception]:
    """The batch's entries with their receipts against its checkpoint, from memory.

    An entry's proof needs only subtrees that hold a leaf of this batch (completed by it,
    so in ``created``) or lie wholly before it; those are peaks of the tree before the
    batch. Should one be missing anyway, the entry goes without (``receipt()`` reads it).
    """
    known = dict(peaks_before)
    known.update(((level, index), value) for level, index, value in created)
    completed: list[LogEntry | Withdrawn | Exception] = []
    for outcome in outcomes:
        if isinstance(outcome, LogEntry):
            try:
                hashes = hash_ranges(inclusion_ranges(outcome.index, checkpoint.tree_size), known)
            except KeyError:  # pragma: no cover - see above
                hashes = None
            if hashes is not None:
                receipt = Receipt(outcome.index, outcome.leaf_hash, checkpoint, tuple(hashes))
                outcome = replace(outcome, receipt=receipt)
        completed.append(outcome)
    return completed
