"""Test stand-in for opentelemetry.context (API 1.39.1): a contextvars-backed current context."""

import contextvars
import logging
import uuid

logger = logging.getLogger(__name__)
_CURRENT = contextvars.ContextVar("current_context", default={})


def create_key(keyname):
    return f"{keyname}-{uuid.uuid4()}"


def get_current():
    return _CURRENT.get()


def get_value(key, context=None):
    return (context if context is not None else get_current()).get(key)


def set_value(key, value, context=None):
    new = dict(context if context is not None else get_current())
    new[key] = value
    return new


def attach(context):
    return _CURRENT.set(context)


def detach(token):
    try:
        _CURRENT.reset(token)
    except Exception:  # the API logs instead of raising
        logger.exception("Failed to detach context")
