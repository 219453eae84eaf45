"""Prepared columns held in the smallest exact form, decoded when a check reads them.

A prepared column (``encoding.PreparedColumn``) holds float64 numbers and int32
category codes for every row of the three frames: 100 bytes a row for the scale
benchmark's 18 columns, 2.1 GB at 10M / 10M / 1M rows, held for the whole audit. Most
of it is wider than the values need: category codes fit in one or two bytes, and most
numbers are whole (ages, counts, dates in seconds) or have a few decimals (amounts in
cents).

``CompactColumn`` stores each array once in a narrow type and gives the checks the same
arrays as before on every read (``col.real``, ``col.synthetic``, ``col.holdout``):
float64 numbers with NaN for missing, int32 codes. A read makes a new array, so a check
holds the full-width values only while it uses them. The narrow form is checked when it
is made: the decoded array must equal the prepared one bit for bit, or the column keeps
float64 (so no figure can change).

Even narrow, the arrays grow with the table (29 bytes a row on the benchmark: 3 GB at
50M / 50M / 5M rows), too much beside the distance search of a large audit. Given a
``SpillStore``, each narrow array is written once to a file of its own and read back
on every read instead of being held (``np.fromfile``: a fresh array that is freed when
the check drops it; a memory map would stay in the process's resident memory as it is
read). The store's folder is removed when the audit ends.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from audits.checks.base import ColumnSpec
from audits.checks.encoding import (
    PreparedColumn,
    PreparedColumns,
    PreparedData,
    audited_specs,
    code_dtype,
    numeric_values,
    prepare,
)
from audits.checks.sources import TableSource, as_source, read_column

FRAMES = ("real", "synthetic", "holdout")
# Decimal places tried for numbers that are not whole (10 ** places times the value is
# a whole number that round-trips exactly).
MAX_PLACES = 3
_INT_TYPES = (np.int8, np.int16, np.int32)
# Rows narrowed at a time (bounds the float64 temporaries of narrowing a column).
BLOCK_ROWS = 1 << 21


class SpilledArray:
    """A narrow array held in a file of a ``SpillStore``; ``load`` reads a new copy."""

    __slots__ = ("dtype", "path", "size")

    def __init__(self, path: Path, dtype: np.dtype, size: int) -> None:
        self.path, self.dtype, self.size = path, dtype, size

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    def load(self) -> np.ndarray:
        return np.fromfile(self.path, dtype=self.dtype, count=self.size)

    def load_range(self, start: int, stop: int) -> np.ndarray:
        """Elements ``start .. stop - 1`` only, read from their place in the file."""
        offset = start * self.dtype.itemsize
        return np.fromfile(self.path, dtype=self.dtype, count=stop - start, offset=offset)


SPILL_PREFIX = "synthgov-audit-"
# The file in a store's folder naming the process that owns it (see ``SpillStore``).
OWNER_FILE = "owner"


class SpillStore:
    """A folder of its own (made in ``parent``, default the system's temporary folder)
    holding narrow arrays written once (``put``) and read back whole on each read.
    ``close`` removes the folder and everything in it; use it as a context manager so
    that an audit that raises leaves nothing behind.

    A process killed mid-audit (SIGKILL, the machine's out-of-memory killer) runs no
    cleanup: its folder would stay, as large as its prepared columns. So each folder
    names its owner (process id and start time, ``OWNER_FILE``), and every new store
    first removes the folders in ``parent`` whose owner is gone (``remove_abandoned``):
    the next audit on that machine reclaims the space."""

    def __init__(self, parent: Path | str | None = None) -> None:
        parent = Path(parent) if parent is not None else Path(tempfile.gettempdir())
        remove_abandoned(parent)
        self.folder = Path(tempfile.mkdtemp(prefix=SPILL_PREFIX, dir=parent))
        (self.folder / OWNER_FILE).write_text(_process_identity(os.getpid()) or "")
        self._names = itertools.count()

    def put(self, values: np.ndarray) -> SpilledArray:
        path = self.folder / f"{next(self._names)}.bin"
        np.ascontiguousarray(values).tofile(path)
        return SpilledArray(path, values.dtype, len(values))

    @property
    def nbytes(self) -> int:
        """Bytes of the arrays written to the folder."""
        if not self.folder.exists():
            return 0
        return sum(p.stat().st_size for p in self.folder.iterdir() if p.name != OWNER_FILE)

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> SpillStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _process_identity(pid: int) -> str | None:
    """``"<pid> <start time>"`` of a running process (its start time in clock ticks
    since boot, from ``/proc``, so a reused process id does not pass for the owner), or
    None when no such process runs. Without ``/proc``, the process id alone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        if Path("/proc/self/stat").exists():
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return str(pid)
    except OSError:
        return None
    # Field 22 (starttime), counted after the command name's closing parenthesis.
    return f"{pid} {stat.rsplit(')', 1)[1].split()[19]}"


def remove_abandoned(parent: Path) -> list[Path]:
    """Remove the store folders in ``parent`` whose owning process no longer runs (a
    worker killed mid-audit); return them. A folder whose owner file is not written yet
    (a store being made this instant) or cannot be read is left alone."""
    removed = []
    for folder in parent.glob(f"{SPILL_PREFIX}*"):
        try:
            owner = (folder / OWNER_FILE).read_text().strip()
        except OSError:
            continue
        pid = owner.split(" ", 1)[0]
        if not pid.isdigit() or _process_identity(int(pid)) == owner:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def _part(stored: np.ndarray | SpilledArray, rows: np.ndarray | slice) -> tuple[np.ndarray, bool]:
    """``rows`` of the stored array (a range: a slice with step 1) and whether that is a
    new array rather than a view of the held one (a range of a spilled array is read
    from its place in the file, not the whole file)."""
    if isinstance(stored, SpilledArray):
        if isinstance(rows, slice):
            return stored.load_range(rows.start, rows.stop), True
        return stored.load()[rows], True
    return stored[rows], not isinstance(rows, slice)


def _whole(stored: np.ndarray | SpilledArray) -> np.ndarray:
    return stored.load() if isinstance(stored, SpilledArray) else stored


def _length(stored: np.ndarray | SpilledArray) -> int:
    return stored.size if isinstance(stored, SpilledArray) else len(stored)


def _missing_in(missing: np.ndarray, rows: np.ndarray | slice) -> np.ndarray:
    """Positions within ``rows`` of the rows listed in ``missing`` (sorted)."""
    if isinstance(rows, slice):
        low, high = np.searchsorted(missing, [rows.start, rows.stop])
        return missing[low:high].astype(np.int64) - rows.start
    if not len(missing):
        return np.zeros(0, dtype=np.int64)
    at = np.minimum(np.searchsorted(missing, rows), len(missing) - 1)
    return np.flatnonzero(missing[at] == rows)


class _Numbers:
    """float64 values stored as ``stored / scale`` (a narrow integer type for every row,
    the missing rows listed apart), as float32, or as they are."""

    __slots__ = ("missing", "scale", "stored")

    def __init__(self, values: np.ndarray) -> None:
        # Every pass below goes over blocks of ``BLOCK_ROWS`` rows, so its temporaries
        # are a block's, not the column's (at 50M rows a column's float64 values are
        # 400 MB): each value is tested and converted on its own, so the outcome is the
        # one the whole column at once gives.
        self.stored, self.scale, self.missing = values, 0, None
        missing = np.isnan(values)
        for places in range(MAX_PLACES + 1):
            packed = _as_integers(values, missing, 10**places)
            if packed is not None:
                self.stored, self.scale = packed, 10**places
                self.missing = np.flatnonzero(missing).astype(_index_type(len(values)))
                if not self._decodes_to(values, missing):
                    self.stored, self.scale, self.missing = values, 0, None
                break
        if self.scale == 0 and values.dtype == np.float64:
            narrow = values.astype(np.float32)
            if all(
                _same_bits(narrow[block].astype(np.float64), values[block])
                for block in _blocks(len(values))
            ):
                self.stored = narrow

    def _decodes_to(self, values: np.ndarray, missing: np.ndarray) -> bool:
        """Whether ``decode`` gives ``values`` bit for bit (checked block by block, each
        block decoded as ``decode`` does it)."""
        for block in _blocks(len(values)):
            out = self.stored[block].astype(np.float64)
            out[missing[block]] = np.nan
            if self.scale != 1:
                out /= self.scale
            if not _same_bits(out, values[block]):
                return False
        return True

    @property
    def nbytes(self) -> int:
        return self.stored.nbytes + (0 if self.missing is None else self.missing.nbytes)

    def spill(self, store: SpillStore) -> None:
        self.stored = store.put(self.stored)
        if self.missing is not None and len(self.missing):
            self.missing = store.put(self.missing)

    def decode(self) -> np.ndarray:
        return self.decode_rows(slice(0, _length(self.stored)))

    def decode_rows(self, rows: np.ndarray | slice) -> np.ndarray:
        """The values of ``rows`` (a range or indices), decoding only those rows: a new
        float64 array, also when stored as float64 (each value is decoded alone, so the
        values are those of the whole column, bit for bit)."""
        part, new = _part(self.stored, rows)
        out = part.astype(np.float64, copy=not new)
        if not self.scale:
            return out
        if self.missing is not None:
            out[_missing_in(_whole(self.missing), rows)] = np.nan
        if self.scale != 1:
            out /= self.scale
        return out


def _index_type(n: int) -> type:
    return np.int32 if n <= np.iinfo(np.int32).max else np.int64


def _blocks(n: int) -> list[slice]:
    return [slice(start, min(start + BLOCK_ROWS, n)) for start in range(0, n, BLOCK_ROWS)]


def _as_integers(values: np.ndarray, missing: np.ndarray, scale: int) -> np.ndarray | None:
    """Every row's ``value * scale`` rounded to a whole number (0 where ``missing``), in
    the narrowest integer type that holds the present ones, when each comes back as its
    value divided by ``scale``; None otherwise (amounts rounded to cents are
    ``rint(x * 100) / 100``, which ``x * 100`` alone need not be)."""

    def whole(block: slice) -> tuple[np.ndarray, np.ndarray]:
        present = values[block][~missing[block]]
        return (np.rint(present * scale) if scale != 1 else np.rint(present)), present

    low, high, seen = np.inf, -np.inf, False
    for block in _blocks(len(values)):
        rounded, present = whole(block)
        if scale == 1 and not np.array_equal(rounded, present):
            return None
        if rounded.size:
            seen = True
            low, high = min(low, float(rounded.min())), max(high, float(rounded.max()))
    if not seen:
        return np.zeros(len(values), dtype=np.int8)
    for dtype in _INT_TYPES:
        info = np.iinfo(dtype)
        if info.min <= low and high <= info.max:
            packed = np.zeros(len(values), dtype=dtype)
            for block in _blocks(len(values)):
                rounded, present = whole(block)
                narrow = rounded.astype(dtype)
                back = narrow / scale if scale != 1 else narrow.astype(np.float64)
                if not np.array_equal(back, present):
                    return None
                packed[block][~missing[block]] = narrow
            return packed
    return None


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and np.array_equal(a.view(np.uint64), b.view(np.uint64))


class _Codes:
    """int32 category codes stored in the narrowest signed type that holds them."""

    __slots__ = ("stored",)

    def __init__(self, codes: np.ndarray, n_categories: int) -> None:
        self.stored = codes.astype(code_dtype(n_categories), copy=False)

    @property
    def nbytes(self) -> int:
        return self.stored.nbytes

    def spill(self, store: SpillStore) -> None:
        self.stored = store.put(self.stored)

    def decode(self) -> np.ndarray:
        return self.decode_rows(slice(0, _length(self.stored)))

    def decode_rows(self, rows: np.ndarray | slice) -> np.ndarray:
        part, new = _part(self.stored, rows)
        return part.astype(np.int32, copy=not new)


class CompactColumn(PreparedColumn):
    """A ``PreparedColumn`` whose arrays are stored narrow (see the module's notes):
    ``real``, ``synthetic`` and ``holdout`` read as the prepared column's arrays (a new
    array on each read). With ``store`` the narrow arrays are written there and read
    back on each read; ``nbytes`` still counts them."""

    def __init__(self, column: PreparedColumn, store: SpillStore | None = None) -> None:
        for name in ("spec", "categories", "n_reference_categories", "n_real_categories"):
            object.__setattr__(self, name, getattr(column, name))
        stored = {}
        for frame in FRAMES:
            values = object.__getattribute__(column, frame)
            if values is None:
                stored[frame] = None
            elif column.categories is None:
                stored[frame] = _Numbers(values)
            else:
                stored[frame] = _Codes(values, len(column.categories))
            if store is not None and stored[frame] is not None:
                stored[frame].spill(store)
        object.__setattr__(self, "_stored", stored)

    @classmethod
    def numeric(
        cls,
        spec: ColumnSpec,
        tables: dict[str, TableSource | None],
        store: SpillStore | None = None,
    ) -> CompactColumn:
        """A numeric column read from each table of ``tables`` (by frame name) in turn,
        each table's values made (``encoding.numeric_values``, as ``prepare`` makes
        them) and narrowed before the next is read."""
        column = object.__new__(cls)
        for name, value in (
            ("spec", spec),
            ("categories", None),
            ("n_reference_categories", 0),
            ("n_real_categories", 0),
        ):
            object.__setattr__(column, name, value)
        stored: dict[str, _Numbers | None] = {}
        for frame in FRAMES:
            table = tables.get(frame)
            if table is None:
                stored[frame] = None
                continue
            stored[frame] = _Numbers(numeric_values(read_column(table, spec.name), spec.type))
            if store is not None:
                stored[frame].spill(store)
        object.__setattr__(column, "_stored", stored)
        return column

    def _read(self, frame: str) -> np.ndarray | None:
        stored = self._stored[frame]
        return None if stored is None else stored.decode()

    real = property(lambda self: self._read("real"))
    synthetic = property(lambda self: self._read("synthetic"))
    holdout = property(lambda self: self._read("holdout"))

    def read_rows(self, frame: str, rows: np.ndarray | slice) -> np.ndarray:
        """``rows`` of ``frame``'s array, decoding only those rows: a range of a
        spilled array is read from its place in the file."""
        stored = self._stored[frame]
        if stored is None:
            raise TypeError(f"column {self.spec.name!r} has no {frame} rows")
        if isinstance(rows, slice):
            start, stop, step = rows.indices(_length(stored.stored))
            if step != 1:
                return stored.decode()[rows]
            rows = slice(start, max(start, stop))
        else:
            rows = np.asarray(rows)
            if rows.dtype == bool:  # a mask, as plain indexing takes it
                rows = np.flatnonzero(rows)
        return stored.decode_rows(rows)

    @property
    def nbytes(self) -> int:
        """Bytes held for the three frames' values."""
        return sum(s.nbytes for s in self._stored.values() if s is not None)

    def __repr__(self) -> str:
        return f"CompactColumn({self.spec.name!r}, {self.nbytes} bytes)"


def prepare_compact(
    columns: Sequence[ColumnSpec],
    real: pd.DataFrame | TableSource,
    synthetic: pd.DataFrame | TableSource,
    holdout: pd.DataFrame | TableSource | None,
    *,
    store: SpillStore | None = None,
) -> PreparedData:
    """``encoding.prepare``'s columns (the same ones, each converted once on first use),
    each held as a ``CompactColumn`` (its narrow arrays in ``store`` when given): a
    column is read from each table (a frame or a ``sources.TableSource``), prepared on
    its own and narrowed at once, so the raw and full-width arrays of one column exist
    at a time."""
    # Frames are read as they are: a column the caller deletes from one is gone here too.
    tables = [as_source(t, copy=False) for t in (real, synthetic, holdout)]

    def convert(spec: ColumnSpec) -> PreparedColumn:
        if spec.is_numeric:
            # Each table's numbers on their own (they share nothing): one table's raw
            # and full-width values exist at a time.
            return CompactColumn.numeric(spec, dict(zip(FRAMES, tables, strict=True)), store)
        raw = [None if t is None else t.read([spec.name]) for t in tables]
        one = prepare([spec], *raw, include_identifiers=True)
        del raw
        return CompactColumn(one.columns[spec.name], store)

    real_source, synthetic_source, holdout_source = tables
    return PreparedData(
        columns=PreparedColumns(audited_specs(columns), convert),
        n_real=real_source.num_rows,
        n_synthetic=synthetic_source.num_rows,
        n_holdout=0 if holdout_source is None else holdout_source.num_rows,
    )


def narrow_every_column(data: PreparedData, raw: Sequence[TableSource | None]) -> None:
    """Prepare and narrow every column of ``data`` now (each is converted on first use),
    dropping it from the ``raw`` tables (``TableSource.drop``) once it is, so the raw
    and the full-width prepared values of one column exist at a time."""
    for name in data.columns:
        data.columns[name]
        for table in raw:
            if table is not None:
                table.drop(name)
        release_unused_memory()


def release_unused_memory() -> None:
    """Hand the memory Arrow's allocator kept back to the system. A frame read from
    Parquet holds its numbers in Arrow's buffers (``to_pandas`` does not copy them):
    freed, they stay in the allocator's pool, and in the process's resident memory,
    until this is called."""
    pa.default_memory_pool().release_unused()
