"""Test stand-in: namespace level of the OpenTelemetry package tree."""
