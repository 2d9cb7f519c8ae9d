"""Test stand-in for opentelemetry.instrumentation (contrib 0.60b1)."""
