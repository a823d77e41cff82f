"""A big file is read and checked in a second process while this one writes the checked rows: reading a
sheet and checking its cells is pure CPU, and so is the driver's work on the writes (bench/import.py:
on 2 cores an import takes about as long as the slower of the two halves, not their sum).

The worker is `python -m workflows.imports.worker KIND PATH NAME TODAY FD`: it re-opens the file,
checks as check_rows() does in-process, and writes each batch of checked rows with the problems found
since the last one to the pipe FD, pickled and length-prefixed. A pipe holds little, so the worker waits for the
writer (memory stays flat); a worker that dies is noticed at once (end of its output)."""

from __future__ import annotations

import asyncio
import os
import pickle
import struct
import sys
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from workflows.errors import UserError

if TYPE_CHECKING:
    from workflows.imports.runner import Job, Row

_LENGTH = struct.Struct(">Q")


def _send(out: BinaryIO, message: tuple[Any, ...]) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(_LENGTH.pack(len(data)))
    out.write(data)
    out.flush()


def produce(kind_name: str, path: Path, file_name: str, today: date, out: BinaryIO) -> None:
    """The worker's work: every checked batch, then "done" (or "error" with the reason, Chinese and English)."""
    from workflows.dataio.read import open_table
    from workflows.imports import kind_named
    from workflows.imports.columns import map_headers
    from workflows.imports.runner import Checker, check_rows

    try:
        kind = kind_named(kind_name)
        with open_table(path, file_name) as table:
            checker = Checker(kind, map_headers(table.headers, kind.columns), today)
            sent = 0
            for count, batch in check_rows(checker, table):
                for row in batch:
                    row.texts = {}  # half of each row; needed only for problems, found here already
                _send(out, ("batch", count, batch, checker.problems[sent:]))
                sent = len(checker.problems)
    except UserError as err:  # a file that goes bad half way (an encoding that changes, a damaged zip)
        _send(out, ("error", 0, [], (err.zh, err.en)))
        return
    _send(out, ("done", 0, [], []))


async def checked_in_worker(job: Job, source: Path) -> AsyncIterator[tuple[int, list[Row]]]:
    """(rows read so far, checked rows) per batch, as check_rows() yields them, from the worker."""
    from workflows.imports.runner import Problem

    # A pipe of its own: nothing the worker (or a library in it) prints can get into the batches.
    read_end, write_end = os.pipe()
    args = (job.kind.name, str(source), source.name, job.today.isoformat(), str(write_end))
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "workflows.imports.worker", *args, pass_fds=(write_end,)
        )
    finally:
        os.close(write_end)
    loop = asyncio.get_running_loop()
    batches = asyncio.StreamReader(limit=1 << 20)
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(batches), os.fdopen(read_end, "rb", buffering=0)
    )
    try:
        while True:
            try:
                size = _LENGTH.unpack(await batches.readexactly(_LENGTH.size))[0]
                what, count, batch, extra = pickle.loads(await batches.readexactly(size))  # noqa: S301 - our own child
            except asyncio.IncompleteReadError:
                raise RuntimeError(f"import worker stopped (exit code {await proc.wait()})") from None
            if what == "batch":
                job.problems.extend(extra)
                yield count, batch
            elif what == "error":
                job.problems.append(Problem(0, "", "", *extra))
                return
            else:
                return
    finally:
        transport.close()
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


if __name__ == "__main__":
    kind_arg, path_arg, name_arg, today_arg, fd_arg = sys.argv[1:6]
    with os.fdopen(int(fd_arg), "wb") as channel:
        produce(kind_arg, Path(path_arg), name_arg, date.fromisoformat(today_arg), channel)
