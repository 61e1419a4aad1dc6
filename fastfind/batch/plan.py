"""The planner: complete answers despite caps, crawls, resume -- over the batch engine.

Every input query is a *node*; a node runs as one or more *parts* (C-FINDs). The planner feeds
the parts to :class:`~fastfind.batch.engine._Engine` from a queue and reacts to each result
(:mod:`.truncation`):

* complete -> the part's responses (buffered in a :class:`~.spool.PartBuffer` meanwhile) are
  committed (:class:`~.commit.Committer`);
* truncated, with ``split_by`` -> the part is replaced by its halves (:mod:`.split`); its
  partial answer is discarded, never written; a part that cannot be split any further is
  reported loudly (``incomplete``, exit 68);
* suspect (a round count, or nothing at all for a whole query) with ``split_by`` -> both halves
  are asked; if they find more than the whole, the whole was capped;
* failed -> nothing of the part is written; the node reports the failure.

With ``crawl``, a finished node's matches become child nodes one level down (:mod:`.crawl`),
run over the same pool with the same caps handling and reported as results of their own
(``result.parent``). With ``checkpoint``, every commit group is recorded (:mod:`.checkpoint`)
and a re-run skips what is recorded: finished nodes (yielded again as ``resumed`` results),
committed parts, and ranges already known to need splitting.

A node is recorded as finished unless it failed on the network (exit codes 2, 71, 72): those
run again on resume, as the peer may do better next time.
"""

from __future__ import annotations

import asyncio
import collections
import copy
import os
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

from pydicom.dataset import Dataset

from ..client import FindResponse, build_dataset
from ..dicom.uids import resolve_model
from ..errors import (
    EXIT_NO_ASSOCIATION,
    EXIT_PROTOCOL,
    EXIT_TIMEOUT,
    FastFindError,
)
from ..options import FindOptions, OutputOptions
from . import truncation as tr
from .checkpoint import Checkpoint, State, Unit
from .commit import Committer, dedup_key
from .crawl import LEVELS, UNIQUE, WORKLIST, Crawl, ensure_key, level_of
from .engine import BatchProgress, Progress, QueryResult, _Engine
from .policy import RetryPolicy
from .split import SplitError, Splitter, Window
from .spool import PartBuffer

RETRY_ON_RESUME = (EXIT_NO_ASSOCIATION, EXIT_PROTOCOL, EXIT_TIMEOUT)
EMPTY_CHECKS = 8  #: empty whole answers checked by their halves before empty answers are trusted


@dataclass(frozen=True)
class PlanOptions:
    split_by: str | None = None
    expect_cap: int | None = None
    crawl: str | None = None
    checkpoint: str | Checkpoint | None = None
    outputs: OutputOptions | None = None
    fields: tuple[str, ...] = ()
    round_caps: bool = True


class _Node:
    """One logical query: an input query or a crawl child."""

    __slots__ = ("id", "index", "parent", "level", "query", "source", "user", "ancestors",
                 "pending", "count", "attempts", "started", "notes", "error", "final",
                 "incomplete", "dedup", "kids", "matches", "units", "splits", "parts", "cut")

    def __init__(self, id: str, index: int, parent: str | None, level: str | None,
                 query: Dataset, source: Any, user: Dataset, ancestors: list[tuple[str, bytes]]):
        self.id, self.index, self.parent, self.level = id, index, parent, level
        self.query, self.source, self.user, self.ancestors = query, source, user, ancestors
        self.pending = 0
        self.count = 0
        self.attempts = 0
        self.started = time.monotonic()
        self.notes: list[str] = []
        self.error: FastFindError | None = None
        self.final: FindResponse | None = None
        self.incomplete = False
        self.dedup: set[str] | None = None
        self.kids: list[Any] = []
        self.matches: list[FindResponse] = []
        self.units: dict[str | None, Unit] = {}
        self.splits: set[str] = set()
        self.parts = 0  # parts committed
        self.cut = 0  # parts split


class _Part:
    __slots__ = ("node", "window", "label", "query", "depth", "pair", "index")

    def __init__(self, node: _Node, window: Window | None, label: str | None, query: Dataset,
                 depth: int, pair: _Pair | None = None):
        self.node, self.window, self.label, self.query = node, window, label, query
        self.depth, self.pair = depth, pair
        self.index = -1


class _Pair:
    """The two halves of a suspect part: do they find more than it did?"""

    __slots__ = ("whole", "counts")

    def __init__(self, whole: int):
        self.whole = whole
        self.counts: list[int] = []


class _Router:
    """The engine's one sink: each pending response into its part's buffer."""

    def __init__(self) -> None:
        self.buffers: dict[int, PartBuffer] = {}

    def add(self, rsp: FindResponse) -> None:
        buf = self.buffers.get(rsp.query if rsp.query is not None else -1)
        if buf is not None:
            buf.add(rsp)

    def close(self) -> None:
        pass

    def discard(self) -> None:
        pass


class Planner:
    """Runs a planned batch; :meth:`run` yields a :class:`QueryResult` per node."""

    def __init__(self, queries: Any, host: str, port: int, options: FindOptions | None,
                 overrides: dict[str, Any], plan: PlanOptions, *, concurrency: int,
                 retry: RetryPolicy, sinks: Any, keep_matches: bool, progress: Progress | None,
                 total: int | None, seed: int | None):
        from ..client import _with_overrides

        self.queries = queries
        self.host, self.port = host, port
        self.options = _with_overrides(options or FindOptions(), dict(overrides))
        self.plan = plan
        self.concurrency = max(1, concurrency)
        self.retry = retry
        self.keep = keep_matches
        self.progress_cb = progress
        self.progress = BatchProgress(total=total)
        self.rng = random.Random(seed)
        self.worklist = resolve_model(self.options.model) == WORKLIST
        self.splitter = Splitter(plan.split_by) if plan.split_by else None
        self.crawl = Crawl(self.options.model, plan.crawl) if plan.crawl else None
        self.detector = tr.CapDetector(plan.expect_cap, plan.round_caps)
        self.empty_checked = 0
        ckpt = plan.checkpoint
        if isinstance(ckpt, (str, os.PathLike)):
            ckpt = Checkpoint(os.fspath(ckpt), _fingerprint(host, port, self.options, plan))
        self.ckpt: Checkpoint | None = ckpt
        self.state = ckpt.open() if ckpt is not None else State()
        out = replace(plan.outputs, per_query=True) if plan.outputs is not None else None
        user = [] if sinks is None else ([sinks] if hasattr(sinks, "add") else list(sinks))
        try:
            if ckpt is not None and not self.state.complete:
                ckpt.remove_orphans()
            spool_dir = out.directory if out is not None and out.extract else None
            self.spool_dir = spool_dir
            self.committer = Committer(out, plan.fields, user, ckpt, self.options.limits)
        except BaseException:
            if ckpt is not None:
                ckpt.close()
            raise
        self.router = _Router()
        self.ready: collections.deque[_Part] = collections.deque()
        self.by_index: dict[int, _Part] = {}
        self.outbox: collections.deque[QueryResult] = collections.deque()
        self.fed = 0
        self.in_flight = 0
        self.nodes_open = 0
        self.open_in_row: dict[int, int] = {}  # nodes running per row (a crawl's share its row)
        self.input_done = False
        self.wake = asyncio.Event()
        self.drained = asyncio.Event()
        self.result_ready = asyncio.Event()
        self.cleaned: set[int] = set()  # rows whose q<row>/ leftovers were removed (resuming)

    # ---- the run --------------------------------------------------------------------------------
    async def run(self) -> AsyncIterator[QueryResult]:
        engine = _Engine(self._feed(), self.host, self.port, self.options, {}, self.concurrency,
                         self.retry, self.router, False, self._engine_tick, None, self.rng)
        results = engine.run()
        nxt: asyncio.Future[QueryResult] | None = None
        complete = False
        try:
            while True:
                while self.outbox:
                    yield self.outbox.popleft()
                self.drained.set()
                if nxt is None:
                    nxt = asyncio.ensure_future(results.__anext__())
                waiter = asyncio.ensure_future(self.result_ready.wait())
                done, _ = await asyncio.wait({nxt, waiter}, return_when=asyncio.FIRST_COMPLETED)
                if waiter not in done:
                    waiter.cancel()
                self.result_ready.clear()
                if nxt in done:
                    fut, nxt = nxt, None
                    try:
                        result = fut.result()
                    except StopAsyncIteration:
                        break
                    self._on_result(result)
                    self.committer.maybe_boundary()
            while self.outbox:
                yield self.outbox.popleft()
            complete = True
        finally:
            if nxt is not None and not nxt.done():
                nxt.cancel()
                await asyncio.gather(nxt, return_exceptions=True)
            await results.aclose()
            for buf in self.router.buffers.values():
                buf.close()
            self.router.buffers.clear()
            self.committer.finish(complete)

    def _engine_tick(self, engine_progress: BatchProgress) -> None:
        p = self.progress
        p.retries = engine_progress.retries
        p.associations = engine_progress.associations
        p.finds = engine_progress.finds
        self._tick()

    def _tick(self) -> None:
        if self.progress_cb is not None:
            self.progress_cb(self.progress)

    # ---- feeding the engine ------------------------------------------------------------------
    async def _feed(self) -> AsyncIterator[Dataset]:
        source = self._inputs()
        index = 0
        while True:
            if self.ready:
                part = self.ready.popleft()
                part.index = self.fed
                self.fed += 1
                self.by_index[part.index] = part
                self.router.buffers[part.index] = PartBuffer(self.spool_dir, self.options.limits)
                self.in_flight += 1
                yield part.query
                continue
            if not self.input_done:
                while len(self.outbox) > 2 * self.concurrency:
                    self.drained.clear()
                    self.result_ready.set()
                    await self.drained.wait()
                try:
                    query = await source.__anext__()
                except StopAsyncIteration:
                    self.input_done = True
                    continue
                self._start_root(index, query)
                index += 1
                continue
            if self.in_flight == 0 and self.nodes_open == 0:
                return
            self.wake.clear()
            await self.wake.wait()

    async def _inputs(self) -> AsyncIterator[Any]:
        if hasattr(self.queries, "__aiter__"):
            async for q in self.queries:
                yield q
        else:
            for q in self.queries:
                yield q

    # ---- nodes ---------------------------------------------------------------------------------
    def _start_root(self, index: int, source: Any) -> None:
        node_id = str(index + 1)
        if node_id in self.state.done:
            self._resumed(node_id, index, None, source)
            return
        user = build_dataset(source)
        level = level_of(user) if not self.worklist else None
        if self.crawl is not None:
            query = self.crawl.root(user)
        else:
            query = user
        node = _Node(node_id, index, None, level, query, source, user, [])
        self._start(node)

    def _start(self, node: _Node) -> None:
        self.nodes_open += 1
        self.open_in_row[node.index] = self.open_in_row.get(node.index, 0) + 1
        if self.state.resuming and node.index not in self.cleaned:
            self.cleaned.add(node.index)  # safe later too: this run's numbers are above
            self.committer.clean_row(node.index)
        recorded = self.state.units.pop(node.id, [])
        node.units = {u.label: u for u in recorded}
        node.splits = self.state.splits.pop(node.id, set())
        needs_key = self.splitter is not None or (self.crawl is not None
                                                   and self.crawl.goes_on(node.level))
        if needs_key and node.level in UNIQUE:
            if node.query is node.user:
                node.query = copy.deepcopy(node.query)
            ensure_key(node.query, UNIQUE[node.level])
        window = label = None
        if self.splitter is not None:
            node.dedup = set()
            for u in recorded:
                node.dedup.update(u.keys or ())
            try:
                window = self.splitter.window(node.query)
                label = self.splitter.label(window)
            except SplitError as exc:
                node.notes.append(f"not split by {self.splitter.key}: {exc}")
        for u in recorded:  # committed in an earlier run
            node.count += u.count
            node.parts += 1
            node.kids.extend(u.kids or ())
        self._add_part(_Part(node, window, label, node.query, 0))
        if node.pending == 0:
            self._finish_node(node)

    def _add_part(self, part: _Part) -> None:
        node = part.node
        if part.label is not None and part.label in node.splits and part.window is not None:
            halves = self.splitter.halves(part.window) if self.splitter else None
            if halves is not None:  # split in an earlier run: go straight to the halves
                node.cut += 1
                for w in halves:
                    self._add_part(self._half(part, w, None))
                return
        if part.label in node.units:
            return  # committed in an earlier run
        node.pending += 1
        self.ready.append(part)
        self.wake.set()

    def _half(self, part: _Part, w: Window, pair: _Pair | None) -> _Part:
        assert self.splitter is not None
        return _Part(part.node, w, self.splitter.label(w), self.splitter.apply(part.node.query, w),
                     part.depth + 1, pair)

    # ---- results ------------------------------------------------------------------------------
    def _on_result(self, result: QueryResult) -> None:
        part = self.by_index.pop(result.index)
        buf = self.router.buffers.pop(result.index)
        self.in_flight -= 1
        node = part.node
        node.attempts += result.attempts
        try:
            self._judge(part, result, buf)
        finally:
            buf.close()
        node.pending -= 1
        if node.pending == 0:
            self._finish_node(node)
        self.wake.set()

    def _judge(self, part: _Part, result: QueryResult, buf: PartBuffer) -> None:
        node = part.node
        final = result.final
        verdict = tr.judge(final.status if final else None, final.error_comment if final else None,
                           result.count, result.error is not None, result.cancelled, self.detector)
        if part.pair is not None:
            self._pair_answered(part.pair, result.count)
        where = f" ({part.label})" if part.label and part.depth else ""
        if verdict.kind == tr.FAILED:
            if result.error is not None and node.error is None:
                node.error = result.error
            if final is not None and (node.final is None or node.final.status == 0):
                node.final = final
            if part.depth:
                node.notes.append(f"part {part.label} failed: {result.reason}")
            return
        halves = None
        if verdict.kind != tr.COMPLETE and part.window is not None and self.splitter is not None:
            if verdict.kind == tr.TRUNCATED or self._verify(part, result.count):
                halves = self.splitter.halves(part.window)
        if halves is not None:
            pair = _Pair(result.count) if verdict.kind == tr.SUSPECT else None
            node.cut += 1
            self.progress.splits += 1
            self.committer.split(node.id, part.label or "")
            for w in halves:
                self._add_part(self._half(part, w, pair))
            return
        if verdict.kind == tr.TRUNCATED:
            node.incomplete = True
            if final is not None and (node.final is None or node.final.status == 0):
                node.final = final
            how = "cannot be split any further" if self.splitter else "use --split-by to complete it"
            node.notes.append(f"incomplete{where}: {verdict.reason}; {how} "
                              f"({result.count} matches not written)")
            return
        if verdict.kind == tr.SUSPECT and result.count:
            node.notes.append(f"possibly capped{where}: {verdict.reason}")
        self._commit(part, buf)
        if node.final is None:
            node.final = final

    def _verify(self, part: _Part, count: int) -> bool:
        """Whether a suspect answer is worth asking its halves about."""
        if count:
            return True  # a round count: rare, and a silent cap looks exactly like it
        if part.depth or self.empty_checked >= EMPTY_CHECKS and not self.detector.empty_caps:
            return False
        self.empty_checked += 1
        return True

    def _pair_answered(self, pair: _Pair, count: int) -> None:
        pair.counts.append(count)
        if len(pair.counts) == 2 and self.detector.halves(pair.whole, *pair.counts):
            what = ("nothing" if pair.whole == 0 else f"{pair.whole} matches")
            self._note_cap(f"the halves of a part found {sum(pair.counts)} where it found {what}: "
                           "the server caps its answers")

    def _note_cap(self, text: str) -> None:
        import logging

        logging.getLogger("fastfind").info(text)

    def _commit(self, part: _Part, buf: PartBuffer) -> None:
        node = part.node
        key = None
        if node.dedup is not None:
            level, wl = node.level, self.worklist

            def key(rsp: FindResponse) -> str:
                return dedup_key(rsp, level, wl)

        crawls = self.crawl is not None and self.crawl.goes_on(node.level)
        on_written = None
        if crawls or self.keep:

            def on_written(rsp: FindResponse) -> Any:
                if self.keep:
                    node.matches.append(rsp)
                return self._kid(node, rsp) if crawls else None

        n = self.committer.commit(node.id, part.label, node.index, buf, node.dedup, key,
                                  on_written)
        node.count += n
        node.parts += 1
        self.progress.responses += n

    def _kid(self, node: _Node, rsp: FindResponse) -> list[Any]:
        """What a crawl child of ``rsp`` needs: its unique key's value and the charset."""
        from ..dicom import dictionary

        assert node.level is not None
        tag = dictionary.tag_for_name(UNIQUE[node.level])
        raw = (rsp.top_level_value(tag) or b"") if tag is not None else b""
        charset = rsp.top_level_value(0x00080005)
        kid = [raw.rstrip(b"\x00 ").decode("utf-8", "surrogateescape"),
               charset.decode("ascii", "replace").strip() if charset else None]
        node.kids.append(kid)
        return kid

    def _finish_node(self, node: _Node) -> None:
        self.nodes_open -= 1
        seconds = time.monotonic() - node.started
        notes = list(node.notes)
        if node.cut:
            notes.insert(0, f"split by {self.splitter.key if self.splitter else ''}: "
                            f"{node.parts} parts complete")
        children = self._children(node) if self.crawl is not None else []
        result = QueryResult(node.index, node.source, node.matches, node.count, node.final,
                             node.error, node.attempts, seconds, False, notes, id=node.id,
                             parent=node.parent, level=node.level, incomplete=node.incomplete)
        code = result.exit_code
        if code not in RETRY_ON_RESUME:
            self.committer.node_done(_record(result, [c[1] for c in children]))
        if self.progress.total is not None:
            self.progress.total += len(children)  # the crawl grows the batch
        self._deliver(result)
        self._tick()
        for child_id, kid in children:
            self._child(node, child_id, kid)
        left = self.open_in_row.pop(node.index) - 1
        if left:
            self.open_in_row[node.index] = left
        else:  # the row is finished: its numbering is no longer needed (memory flat in N)
            self.committer.forget(node.index)

    def _deliver(self, result: QueryResult) -> None:
        """Count ``result`` in the progress and hand it to :meth:`run`."""
        p = self.progress
        p.done += 1
        if result.ok:
            p.ok += 1
        else:
            p.failed += 1
        self.outbox.append(result)
        self.result_ready.set()

    def _children(self, node: _Node) -> list[tuple[str, Any]]:
        """The node's crawl children, one per distinct parent, in a stable order."""
        if self.crawl is None or not self.crawl.goes_on(node.level):
            return []
        kids = sorted({(k[0], k[1] or "") for k in node.kids if k[0]})
        return [(f"{node.id}/{n + 1}", [uid, cs or None]) for n, (uid, cs) in enumerate(kids)]

    def _child(self, parent: _Node, child_id: str, kid: list[Any]) -> None:
        assert self.crawl is not None and parent.level is not None
        level = LEVELS[LEVELS.index(parent.level) + 1]
        ancestors = parent.ancestors + [(UNIQUE[parent.level], kid[0].encode("utf-8", "surrogateescape"))]
        if child_id in self.state.done:
            self._resumed(child_id, parent.index, parent, None, level, ancestors)
            return
        charset = kid[1].encode("ascii") if kid[1] else None
        query = self.crawl.child(parent.user, level, ancestors, charset)
        child = _Node(child_id, parent.index, parent.id, level, query, query, parent.user, ancestors)
        self._start(child)

    def _resumed(self, node_id: str, index: int, parent: _Node | None, source: Any,
                 level: str | None = None, ancestors: list[tuple[str, bytes]] | None = None) -> None:
        """A node the checkpoint says is finished: its result again, then its children."""
        rec = self.state.done[node_id]
        result = QueryResult(index, source, [], rec.get("matches", 0), None, None,
                             rec.get("attempts", 0), rec.get("seconds", 0.0), False,
                             list(rec.get("notes", ())), id=node_id, parent=rec.get("parent"),
                             level=rec.get("level"), incomplete=bool(rec.get("incomplete")),
                             resumed=True,
                             recorded=(rec.get("code", 0), rec.get("error", ""), rec.get("status")))
        self._deliver(result)
        children = rec.get("children") or []
        if not children or self.crawl is None:
            return
        user = build_dataset(source) if source is not None else (parent.user if parent else Dataset())
        node = _Node(node_id, index, rec.get("parent"), rec.get("level"), Dataset(), source, user,
                     ancestors or [])
        if self.progress.total is not None:
            self.progress.total += len(children)
        for k, kid in enumerate(children):
            self._child(node, f"{node_id}/{k + 1}", kid)


def _record(result: QueryResult, children: list[Any]) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "id": result.id, "row": result.index + 1, "parent": result.parent, "level": result.level,
        "status": result.final.status if result.final is not None else None,
        "code": result.exit_code, "error": result.reason, "matches": result.count,
        "attempts": result.attempts, "seconds": round(result.seconds, 3), "notes": result.notes,
    }
    if result.incomplete:
        rec["incomplete"] = True
    if children:
        rec["children"] = children
    return rec


def _fingerprint(host: str, port: int, options: FindOptions, plan: PlanOptions) -> str:
    """What a checkpoint must match to be resumed: the peer, the model and the plan."""
    import hashlib
    import json

    out = plan.outputs
    data = {"peer": [host, port, options.called_ae, options.model], "split": plan.split_by,
            "cap": plan.expect_cap, "crawl": plan.crawl, "fields": list(plan.fields),
            "out": None if out is None else [out.directory, out.extract, out.xml_single_file,
                                             out.json, out.ndjson, out.csv, out.parquet,
                                             list(out.csv_fields or ())]}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


__all__ = ["PlanOptions", "Planner"]
