"""``python -m synthgov.client``: see ``synthgov.client.cli``."""

from synthgov.client.cli import main

raise SystemExit(main())
