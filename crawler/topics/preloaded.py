"""Imported by the extraction pool's forkserver when its workers tag topics or fingerprint.

Loads pymorphy3's Russian dictionaries (~20 MB) in the server, before it forks the workers:
the workers' topic engines and fingerprinters then share its pages instead of loading a copy
each. Imported last (after the extraction stack), it then moves every object the server holds
out of the collector's sight (``gc.freeze``): a worker's full collections would otherwise
write to each of them and so copy every page they sit on into the worker.
"""

from __future__ import annotations

import gc

from crawler.topics.morph import preload_dictionaries

preload_dictionaries()
gc.freeze()
