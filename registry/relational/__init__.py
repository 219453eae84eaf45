"""Plain-Python pieces of relational (multi-table) versions: the table-name rule,
the version hash over several tables, reading a zip of tables, inferring and
checking primary and foreign keys, the SDMetrics multi-table metadata format and
the relationship diagram. Imports nothing from Django: the registry services pass
names, frames and paths in and turn ``RelationalError`` into form and API errors.
"""

from registry.relational.errors import RelationalError
from registry.relational.keys import (
    ForeignKey,
    KeyCandidates,
    Keys,
    check_key_values,
    check_keys,
    infer_keys,
)
from registry.relational.metadata import keys_from_metadata, metadata_from
from registry.relational.names import (
    MAX_TABLE_NAME_LENGTH,
    TABLE_NAME_RULE,
    check_table_name,
    table_name_from_file,
    version_sha256,
)

__all__ = [
    "MAX_TABLE_NAME_LENGTH",
    "TABLE_NAME_RULE",
    "ForeignKey",
    "KeyCandidates",
    "Keys",
    "RelationalError",
    "check_key_values",
    "check_keys",
    "check_table_name",
    "infer_keys",
    "keys_from_metadata",
    "metadata_from",
    "table_name_from_file",
    "version_sha256",
]
