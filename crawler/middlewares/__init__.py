"""Downloader middlewares, one per file; enabled by dotted path in ``crawler.settings``.

``safety`` (SSRF guard), ``redirect_guard``, ``size_cap``, ``retry_after``, ``robots`` (RFC 9309)
and ``conditional_get``; ``policy`` holds what they share (the per-source policy, the
``Blocked``/``NotFetched`` refusals and draining the download queues).
"""
