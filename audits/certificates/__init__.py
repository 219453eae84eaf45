"""Certificate signing and verification in plain Python (no Django), so the
offline verifier can use it without a database or settings."""
