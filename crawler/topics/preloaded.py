"""Imported by the extraction pool's forkserver when the crawl tags topics in its workers.

Loads pymorphy3's Russian dictionaries (~20 MB) in the server, before it forks the workers:
the workers' topic engines then share its pages instead of loading a copy each.
"""

from __future__ import annotations

from crawler.topics.morph import preload_dictionaries

preload_dictionaries()
