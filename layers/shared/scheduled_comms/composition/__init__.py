"""The composition point: builds the real adapters, lazily and once per process.

One module per group of adapters, and a function imports the modules of what it builds (the tick
``composition.dispatch``, a row route ``composition.stores``), so its cold start imports those adapters and
no others. Tests, benchmarks and the local stack reach every factory here by name (``composition.dispatcher()``,
which imports its module on first use); ``reset()`` forgets whatever was built.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import _lru_cache_wrapper, lru_cache
from importlib import import_module
from typing import Any, TypeVar

Product = TypeVar("Product")

# No module shares a name with a factory: `composition.events` must stay the factory once its module is loaded.
_MODULES = (
    "stores",
    "company",
    "secrets",
    "voice",
    "dispatch",
    "fanout",
    "event_bus",
    "campaigns",
    "people",
    "inbox",
    "protection",
)
_built: list[_lru_cache_wrapper[Any]] = []


def component(factory: Callable[[], Product]) -> _lru_cache_wrapper[Product]:
    """A factory whose product is built on first call and kept for the process (until ``reset``)."""
    cached = lru_cache(maxsize=1)(factory)
    _built.append(cached)
    return cached


def forget_components() -> None:
    """Forget every built adapter, so the next call builds it again from the current settings."""
    for factory in _built:
        factory.cache_clear()


def reset() -> None:
    """Forget every built adapter, client and the settings (tests call this when they swap the AWS backend)."""
    from scheduled_comms.adapters.aws import client, sending_client
    from scheduled_comms.settings import get_settings

    forget_components()
    for cached in (client, sending_client, get_settings):
        cached.cache_clear()


def __getattr__(name: str) -> Any:
    for module in _MODULES:
        found = getattr(import_module(f"{__name__}.{module}"), name, None)
        if found is not None:
            return found
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
