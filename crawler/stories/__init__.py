"""Cross-source story clustering (pure: no Scrapy, no database).

A report's :class:`Fingerprint` (content lemmas, numbers, dates, places, names) is hashed with
MinHash; a :class:`StoryIndex` of the window's reports offers LSH candidates, and
:func:`compare` verifies each, keeping apart look-alike events with different numbers, dates or
places. Storage (``crawler.storage.stories``) persists fingerprints and story ids.

The modules are imported one by one (``crawler.stories.features``, ``.index``, ``.verify``,
``.settings``): the config needs only the settings, and crawl workers must not load
numpy for them (``.sketch``: MinHash and LSH, byte-equal to datasketch's
``affine32`` signatures without datasketch's ~48 MiB, 2.5 s import).
"""
