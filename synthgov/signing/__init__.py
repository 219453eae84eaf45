"""Signing in plain Python (no Django): what is signed, how, and how it is checked.

- ``canonical``: the one canonical JSON form that hashes and signatures cover.
- ``strict_json``: the one strict reader for JSON others wrote (no repeated keys).
- ``keys``: Ed25519 keys, key ids, keyrings and the public keys document.
- ``envelope``: the ``{"<body>": {...}, "signature": {...}}`` form all signed files share.
- ``certificates``, ``revocations``, ``checkpoints``, ``manifests``: each signed file.
- ``cli``: what the offline verifiers (``python -m synthgov.verify*``) share.

Where the deployment's keyring comes from (Django settings) is ``synthgov.signing_keys``.
"""
