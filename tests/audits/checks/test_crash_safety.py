"""Text that looks like a huge exponent ("2e08311970879c88") crashes
pd.to_numeric in pandas 2.x (GH#63650); the distance encoding must survive it.
Run in a child process so a segfault fails the test instead of killing pytest."""

import subprocess
import sys

CODE = """
import pandas as pd
from audits.checks.encoding import numeric_values
values = numeric_values(pd.Series(["2e08311970879c88", "3e9a", "1.5", None] * 500), "numerical")
print(sum(v == 1.5 for v in values))
"""


def test_hex_like_text_does_not_crash_the_encoding():
    result = subprocess.run(
        [sys.executable, "-c", CODE], capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, f"child died with {result.returncode}: {result.stderr}"
    assert result.stdout.strip() == "500"
