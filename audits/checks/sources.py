"""Where an audit reads a table's columns from: a frame in memory or a stored file.

``run_audit`` prepares one column at a time (``compact.prepare_compact``) and the few
checks that read raw values (the schema sample, population shares, the watermark, the
collapse figures) read only the columns they need. A ``TableSource`` gives them that:
its column names and row count without reading any values, and ``read(names)``, a
frame of just those columns, as the whole table read at once would hold them.

``FrameSource`` wraps a frame already in memory (tests, each table of linked tables);
``FileSource`` reads a stored file on demand, so the worker never holds a whole raw
table: a Parquet file one column at a time (``registry.ingest.read_frame`` with
``columns``: the same reader, dtypes and values as the whole read, since that reader
itself reads a Parquet file column by column). A CSV file is read whole on first use
and served from memory: its columns' types are inferred from their text in one pass
over the file, and reading it once per column would parse the whole file each time.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import pandas as pd

from audits.checks.base import AuditInputError
from registry.ingest.tables import TableFormat, read_frame


@runtime_checkable
class TableSource(Protocol):
    """A table read column by column. ``read`` gives a new frame of ``names`` (in that
    order) with every row; ``drop`` tells the source a column will not be read again, so
    one held in memory can be freed (a file source ignores it)."""

    @property
    def columns(self) -> list[str]: ...

    @property
    def num_rows(self) -> int: ...

    def read(self, names: Sequence[str]) -> pd.DataFrame: ...

    def drop(self, name: str) -> None: ...


class FrameSource:
    """A frame in memory as a source. It holds a shallow copy, so ``drop`` frees a
    column's values once the caller keeps no other reference to the frame, and leaves
    the caller's frame as it was."""

    def __init__(self, frame: pd.DataFrame, *, copy: bool = True) -> None:
        # Without ``copy`` the source reads ``frame`` itself: a column the caller deletes
        # from it is gone from the source too.
        self._frame = frame.copy(deep=False) if copy else frame
        self._columns = list(frame.columns)

    @property
    def columns(self) -> list[str]:
        return list(self._columns)

    @property
    def num_rows(self) -> int:
        return len(self._frame)

    def read(self, names: Sequence[str]) -> pd.DataFrame:
        missing = [n for n in names if n not in self._frame.columns]
        if missing:
            raise KeyError(f"columns already dropped or absent: {missing}")
        return self._frame[list(names)]

    def drop(self, name: str) -> None:
        if name in self._frame.columns:
            del self._frame[name]

    def __repr__(self) -> str:
        return f"FrameSource({self.num_rows} rows, {len(self._columns)} columns)"


class FileSource:
    """A stored table (``registry.ingest.TableInfo`` ``info``, validated at upload) read
    on demand from ``path``, which must stay readable while the source is used. Parquet
    text columns come as pandas ``category`` (``read_frame(..., categories=True)``, as
    the worker reads a whole stored version), one read per call; a CSV file is read
    whole on the first call and then served like a ``FrameSource``."""

    def __init__(self, path: Path | str, info: Any, *, label: str = "stored table") -> None:
        self.path = Path(path)
        self.info = info
        self.label = label
        self._whole: FrameSource | None = None

    def reopened(self) -> FileSource:
        """Another source on the same file, with nothing dropped from it: a reader that
        outlives this source's drops (the collapse family reading the reference as the
        ancestor)."""
        return FileSource(self.path, self.info, label=self.label)

    @property
    def columns(self) -> list[str]:
        return list(self.info.columns)

    @property
    def num_rows(self) -> int:
        return int(self.info.row_count)

    @property
    def by_column(self) -> bool:
        """Whether each read reads only its columns from the file (Parquet)."""
        return self.info.format == TableFormat.PARQUET

    def read(self, names: Sequence[str]) -> pd.DataFrame:
        if self.by_column:
            return self._read(list(names))
        if self._whole is None:
            self._whole = FrameSource(self._read(None), copy=False)
        return self._whole.read(names)

    def _read(self, columns: list[str] | None) -> pd.DataFrame:
        try:
            return read_frame(self.path, self.info, columns=columns, categories=True)
        except FileNotFoundError:
            raise AuditInputError(
                f"The stored file of the {self.label} is missing from storage; ask an "
                "administrator to restore it, then run the audit again."
            ) from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise AuditInputError(
                f"The {self.label} could not be read as a table ({exc}). "
                "Upload it again as a new version."
            ) from None

    def drop(self, name: str) -> None:
        if self._whole is not None:
            self._whole.drop(name)

    def __repr__(self) -> str:
        return f"FileSource({str(self.path)!r}, {self.num_rows} rows)"


def as_source(table: pd.DataFrame | TableSource | None, *, copy: bool = True) -> TableSource | None:
    """``table`` as a source: a frame is wrapped (``FrameSource``, reading a shallow copy
    of it unless ``copy`` is False), a source kept."""
    if table is None or not isinstance(table, pd.DataFrame):
        return table
    return FrameSource(table, copy=copy)


def read_column(source: TableSource, name: str) -> pd.Series:
    """One column of ``source`` as a Series (a new read each call)."""
    return source.read([name])[name]
