"""The one error of the relational layer: what is wrong and what to do."""

from __future__ import annotations


class RelationalError(ValueError):
    """A set of tables or keys SynthGov cannot register. ``field`` is the form or
    API field the message belongs to (``tables``, ``names``, ``archive``, ``keys``)."""

    def __init__(self, message: str, *, field: str = "tables", code: str = "bad_tables") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code
