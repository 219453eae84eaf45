"""SPDX licence identifiers accepted for datasets.

The common data and software licences by their SPDX id, plus any
``LicenseRef-…`` for proprietary or in-house terms, as SPDX allows.
"""

from __future__ import annotations

import re

COMMON_SPDX_IDS = (
    "CC0-1.0",
    "CC-BY-4.0",
    "CC-BY-SA-4.0",
    "CC-BY-NC-4.0",
    "CC-BY-NC-SA-4.0",
    "CC-BY-ND-4.0",
    "CC-BY-NC-ND-4.0",
    "CC-BY-3.0",
    "CC-BY-SA-3.0",
    "CC-PDDC",
    "ODbL-1.0",
    "ODC-By-1.0",
    "PDDL-1.0",
    "CDLA-Permissive-1.0",
    "CDLA-Permissive-2.0",
    "CDLA-Sharing-1.0",
    "OGL-UK-3.0",
    "DL-DE-BY-2.0",
    "DL-DE-ZERO-2.0",
    "etalab-2.0",
    "MIT",
    "Apache-2.0",
    "BSD-3-Clause",
    "BSD-2-Clause",
    "GPL-3.0-only",
    "GPL-3.0-or-later",
    "LGPL-3.0-only",
    "MPL-2.0",
    "Unlicense",
)
_LICENSE_REF = re.compile(r"^LicenseRef-[A-Za-z0-9.\-]{1,60}$")
_CANONICAL = {spdx.lower(): spdx for spdx in COMMON_SPDX_IDS}


def normalise_licence(value: str) -> str | None:
    """The canonical SPDX id for ``value`` (case-insensitive), or None if unknown."""
    value = value.strip()
    if _LICENSE_REF.match(value):
        return value
    return _CANONICAL.get(value.lower())
