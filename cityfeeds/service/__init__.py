"""The long-running cityfeeds service (``cityfeeds run``, ``scheduler.py``)."""

from __future__ import annotations

from cityfeeds.service.core import Service, ServiceOptions
from cityfeeds.service.lock import AlreadyRunning, ServiceLock

__all__ = ["AlreadyRunning", "Service", "ServiceLock", "ServiceOptions"]
