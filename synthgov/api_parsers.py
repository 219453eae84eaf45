"""The API's JSON parser: DRF's, refusing bodies nested too deeply to handle."""

from __future__ import annotations

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

from synthgov.signing.strict_json import nesting_depth

# No SynthGov document goes deeper than a handful of levels; JSON much deeper makes
# Python's parser, serialisers and the trail's canonical JSON run out of stack.
MAX_JSON_DEPTH = 32
TOO_DEEP = f"JSON parse error - the body is nested more than {MAX_JSON_DEPTH} levels deep."


class JSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(TOO_DEEP) from None
        if nesting_depth(data) > MAX_JSON_DEPTH:
            raise ParseError(TOO_DEEP)
        return data
