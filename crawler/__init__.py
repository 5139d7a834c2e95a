"""cityfeeds crawler: the Scrapy project plus the pure extraction and normalization code."""
