"""Signals the registry sends for the apps above it to act on; it imports none of them."""

from django.dispatch import Signal

# A version's stored file was found altered or missing (``outcome``: "altered" or
# "missing"), by an audit or by the storage scrub (``found_by``), with ``version``.
# Receivers run in the sender's thread and transaction, and their errors reach the
# sender (``send``, not ``send_robust``): nothing is dropped silently. Receiver:
# ``audits.certification.signals`` suspends the version's valid certificates.
stored_file_failed = Signal()

# The version page is being rendered for ``request`` and ``version``. Each receiver
# returns a dict merged into the page's template context: the apps above the registry
# (audits: audit runs, model collapse, watermarking) add their panels this way.
version_page_context = Signal()

# The dataset page's lineage view is being built for ``user`` with the versions it
# may see (``version_ids``). Each receiver returns ``{version_id: {"status": {...},
# "certificate": {...} | None}}`` (see ``registry.lineage.view``); ids missing from
# every answer show "not audited yet". Receiver: ``audits.version_page`` (compliance
# status and certificate of each version).
lineage_view_badges = Signal()
