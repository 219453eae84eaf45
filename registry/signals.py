"""Signals the registry sends for the apps above it to act on; it imports none of them."""

from django.dispatch import Signal

# A version's stored file was found altered or missing (``outcome``: "altered" or
# "missing"), by an audit or by the storage scrub (``found_by``), with ``version``.
# Receivers run in the sender's thread and transaction, and their errors reach the
# sender (``send``, not ``send_robust``): nothing is dropped silently. Receiver:
# ``audits.certification.signals`` suspends the version's valid certificates.
stored_file_failed = Signal()
