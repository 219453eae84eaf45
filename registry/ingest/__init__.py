"""Plain-Python file ingestion for the dataset registry.

Streams an upload to disk while hashing it, tells CSV from Parquet from
anything else by content, validates the table with bounded memory, reads it
back, infers a column schema and profiles it. Imports nothing from Django: the
registry services pass file chunks, paths and limits in, and turn
``IngestError`` into form and API errors.
"""

from registry.ingest.charset import ENCODING_LABELS, encoding_label, guess_encodings
from registry.ingest.diff import ColumnChange, SchemaDiff, schema_diff, schema_matches
from registry.ingest.errors import ErrorCode, IngestError
from registry.ingest.markers import (
    MAX_MARKER_LENGTH,
    MAX_MISSING_MARKERS,
    MarkerError,
    parse_missing_markers,
)
from registry.ingest.pipeline import IngestedFile, ingest_upload, validate_table
from registry.ingest.profile import DEFAULT_PROFILE_ROWS, profile_frame
from registry.ingest.schema import ColumnRole, ColumnSchema, ColumnType, infer_schema
from registry.ingest.sniff import ContentKind, decompress_to_file, detect_content
from registry.ingest.stream import (
    FileChunks,
    StreamResult,
    iter_chunks,
    safe_original_name,
    stream_to_file,
)
from registry.ingest.tables import (
    DEFAULT_SAMPLE_ROWS,
    TableFormat,
    TableInfo,
    read_frame,
    sample_frame,
)

__all__ = [
    "DEFAULT_PROFILE_ROWS",
    "DEFAULT_SAMPLE_ROWS",
    "ENCODING_LABELS",
    "MAX_MARKER_LENGTH",
    "MAX_MISSING_MARKERS",
    "ColumnChange",
    "ColumnRole",
    "ColumnSchema",
    "ColumnType",
    "ContentKind",
    "ErrorCode",
    "FileChunks",
    "IngestError",
    "IngestedFile",
    "MarkerError",
    "SchemaDiff",
    "StreamResult",
    "TableFormat",
    "TableInfo",
    "decompress_to_file",
    "detect_content",
    "encoding_label",
    "guess_encodings",
    "infer_schema",
    "ingest_upload",
    "iter_chunks",
    "parse_missing_markers",
    "profile_frame",
    "read_frame",
    "safe_original_name",
    "sample_frame",
    "schema_diff",
    "schema_matches",
    "stream_to_file",
    "validate_table",
]
