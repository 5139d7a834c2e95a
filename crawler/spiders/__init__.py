"""Spiders of the cityfeeds Scrapy project (one generic NewsSpider serves every source)."""
