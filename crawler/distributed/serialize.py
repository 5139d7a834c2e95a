"""The shared queue's ``SCHEDULER_SERIALIZER``: pickle out, pickle in through an allow-list.

Requests travel through Redis as pickles of ``Request.to_dict()`` (scrapy-redis' format). Any
process that can write to Redis could otherwise make every worker run arbitrary code; only the
types below may be loaded.
"""

from __future__ import annotations

import datetime
import io
import pickle
import zoneinfo
from typing import Any

from crawler.discovery import Link


def _zoneinfo_getattr(obj: object, name: str) -> Any:
    """``builtins.getattr`` as a pickle may use it here: only for ``ZoneInfo._unpickle``.

    A datetime in a zone (a sitemap's date-only ``lastmod`` or a feed's zone-less date, placed
    in the source's zone) pickles its ZoneInfo as ``getattr(ZoneInfo, "_unpickle")(key, ...)``;
    refusing it dropped every such request from the queue. Any other use is refused.
    """
    if obj is zoneinfo.ZoneInfo and name == "_unpickle":  # the name the stdlib pickles
        return getattr(obj, name)
    raise pickle.UnpicklingError(f"refusing getattr({obj!r}, {name!r}) from the shared queue")


# Keyed by the (module, name) a pickle names, valued by the object it gets. A pickle names a
# class by its module *when it was written*: a class that moves keeps its old name here too, so
# requests queued by older workers (or an older ``enqueue``) still load after an upgrade.
_SAFE_GLOBALS: dict[tuple[str, str], object] = {
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("datetime", "datetime"): datetime.datetime,
    ("datetime", "date"): datetime.date,
    ("datetime", "timedelta"): datetime.timedelta,
    ("datetime", "timezone"): datetime.timezone,
    ("zoneinfo", "ZoneInfo"): zoneinfo.ZoneInfo,
    ("zoneinfo._zoneinfo", "ZoneInfo"): zoneinfo.ZoneInfo,
    ("builtins", "getattr"): _zoneinfo_getattr,
    # A discovered link rides in ``meta["cityfeeds_link"]``; first queued as crawler.discovery.
    ("crawler.discovery", "Link"): Link,
    (Link.__module__, Link.__qualname__): Link,
}


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return _SAFE_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name} from the shared queue"
            ) from None


def dumps(obj: Any) -> bytes:
    """Serialize a request dict for the queue (the ``SCHEDULER_SERIALIZER`` interface)."""
    return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)


def loads(data: bytes) -> Any:
    """Load a request dict from the queue, refusing any type outside a short allow-list."""
    return _SafeUnpickler(io.BytesIO(data)).load()
