"""Reading an audited table from Parquet in a compact form.

Text columns come back as pandas categoricals built from Arrow dictionaries (one code per
row and each distinct string once) instead of one Python string object per row: at 10M
rows and ten text columns that is about 0.1 GiB of codes instead of about 6 GiB of
objects. The audit's preparation factorises each column first, so it reads the same
values either way (``tests/audits/checks/test_frames.py`` compares every figure).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


def read_parquet_frame(path: Path | str, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """The table at ``path`` (only ``columns`` when given, in that order) with its text
    columns as categoricals and dates as datetime64."""
    schema = pq.read_schema(path)
    names = list(columns) if columns is not None else list(schema.names)
    text = [
        name
        for name in names
        if pa.types.is_string(schema.field(name).type)
        or pa.types.is_large_string(schema.field(name).type)
    ]
    table = pq.read_table(path, columns=names, read_dictionary=text)
    # Each Arrow column is freed as soon as it is converted (so the file is not held
    # twice), and the memory Arrow's allocator kept is handed back.
    frame = table.to_pandas(date_as_object=False, split_blocks=True, self_destruct=True)
    del table
    pa.default_memory_pool().release_unused()
    return frame
