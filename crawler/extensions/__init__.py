"""Scrapy extensions, one per file: ``run_recorder`` (a run row per crawl) and ``progress``.

``run_stats`` turns Scrapy's stats into the figures stored for a run and names a failure's cause.
"""
