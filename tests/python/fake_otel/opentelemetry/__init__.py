"""Test stand-in for the OpenTelemetry Python API/SDK 1.39.1 and contrib 0.60b1 (no PyPI here): only the names
datastack uses, with the SDK's own behaviour where datastack depends on it (set-once provider, status rules,
exporter settings read from OTEL_* with the same conversions, so the same errors). Put on sys.path by the
`fake_otel` fixture of tests/python/conftest.py only; never installed, never a default."""
