"""Test stand-in for opentelemetry.sdk (SDK 1.39.1)."""
