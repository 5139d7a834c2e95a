"""Scrapy settings of the cityfeeds project; the politeness values come from cityfeeds.toml.

``crawler.crawl_settings.crawl_settings`` overrides these from the loaded configuration, and
``NewsSpider.update_settings`` does the same under ``scrapy crawl news -a source=NAME``.
"""

from __future__ import annotations

from crawler import clock as _clock

BOT_NAME = "cityfeeds"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
# Scrapy's `crawl`, with a spider's arguments checked first (an unknown source: one line).
COMMANDS_MODULE = "crawler.commands"

# cityfeeds' own settings (CITYFEEDS_*). The config path and database URL may also come from
# the environment variables of the same names.
CITYFEEDS_CONFIG = None  # path of cityfeeds.toml; None: $CITYFEEDS_CONFIG or ./cityfeeds.toml
CITYFEEDS_DATABASE_URL = None  # None: from the config (or $CITYFEEDS_DATABASE_URL)
CITYFEEDS_PROGRESS = False  # print a progress line per source every few seconds (CLI)
CITYFEEDS_PROGRESS_INTERVAL = 5.0
CITYFEEDS_MAX_TEXT_CHARS = 64 * 1024  # article text kept per article (docs/reliability.md B11)
CITYFEEDS_MAX_HTML_CHARS = 128 * 1024
# Extraction worker processes (crawler.workpool): None = one per core, at most 4 (0 on a single
# core); 0 = extract in the reactor's thread.
CITYFEEDS_EXTRACT_WORKERS = None
# Articles per store transaction, and the longest an article waits in a partial batch.
CITYFEEDS_STORE_BATCH = 50
CITYFEEDS_STORE_FLUSH_SECONDS = 1.0
# On SIGINT/SIGTERM, how long pages in flight may take to finish before the run is recorded as
# interrupted with them counted as not fetched (crawler.interrupt.Interrupter).
CITYFEEDS_INTERRUPT_GRACE = 0.5
# How often a crawl writes its figures so far to its run row (0: only at its end), so a crawl
# killed outright (SIGKILL, the OOM killer) leaves them.
CITYFEEDS_RUN_FIGURES_INTERVAL = 5.0
# Run row ids created by the parent process (crawler.supervisor.crawl_subprocess), by source.
CITYFEEDS_RUN_IDS: dict[str, int] = {}

ROBOTSTXT_OBEY = True
USER_AGENT = "cityfeeds/0.1 (+https://github.com/cityfeeds/cityfeeds)"

CONCURRENT_REQUESTS = 16
# Scrapy starts this many asyncio tasks for the output of *every* callback; the pipelines are
# synchronous, so more than a few buys nothing and the default 100 costs ~2 ms per page.
CONCURRENT_ITEMS = 8
# A drop is logged once, by the pipeline that counts it (crawler.context.count_drop: reason and
# URL); Scrapy's own "Dropped:" line for the same item goes to DEBUG.
DEFAULT_DROPITEM_LOG_LEVEL = "DEBUG"
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 1.0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0

DOWNLOAD_TIMEOUT = 30
DNS_TIMEOUT = 10
DOWNLOAD_MAXSIZE = 8 * 1024 * 1024
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
# "Dropped:" lines name the reason, URL and title, not the whole article (~10 KB per duplicate).
LOG_FORMATTER = "crawler.logformatter.CompactLogFormatter"
RETRY_ENABLED = True
RETRY_TIMES = 2
# The spider's errbacks log each lost page once, with its source and reason; Scrapy's own
# "Gave up retrying" line would make every failure two lines (A13: one line per source).
RETRY_GIVE_UP_LOG_LEVEL = "INFO"
REDIRECT_MAX_TIMES = 5
DEPTH_LIMIT = 3
URLLENGTH_LIMIT = 2048
COOKIES_ENABLED = False
# Scrapy's default extensions, reviewed (docs/runs.md): no control port of any kind.
TELNETCONSOLE_ENABLED = False  # never expose a console on a long-running service
# Scrapy 2.19's RemoteControl opens an HTTP endpoint on localhost that runs Python, and writes
# its token under ~/.local/state/scrapy/job_files/ (left behind by killed crawls; a traceback
# per crawl where HOME is read-only, as under the systemd unit). Crawls and workers never need it.
REMOTE_CONTROL_ENABLED = False
# Kept: CoreStats, LogCount, LogStats (figures and log lines only), CloseSpider (the run's
# timeout and caps), AutoThrottle (politeness), MemoryUsage (reads its own RSS for the stats;
# no limit: the run's wall-clock limit and a child per crawl bound memory). Inert without their
# settings: MemoryDebugger (MEMDEBUG_ENABLED off), FeedExporter (no FEEDS), SpiderState (no
# JOBDIR), so nothing is written outside the data and output folders.

# Only http(s): the file:// , data:, s3:// and ftp:// handlers are off.
DOWNLOAD_HANDLERS = {
    "file": None,
    "data": None,
    "s3": None,
    "ftp": None,
}

# Request side runs in ascending order, response side in descending order:
#  40 SafetyMiddleware: scheme + private-address check of every request and redirect hop
# 100 PoliteRobotsTxtMiddleware replaces Scrapy's (RFC 9309 on fetch failures, Crawl-delay)
# 555 RetryAfterMiddleware sees 429/503 before RetryMiddleware (550) retries them
# 590 SizeCapMiddleware replaces HttpCompressionMiddleware (counts too_large, scrapy#6616)
# 610 RedirectGuardMiddleware checks Location before RedirectMiddleware (600) follows it
DOWNLOADER_MIDDLEWARES = {
    "crawler.middlewares.safety.SafetyMiddleware": 40,
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.middlewares.robots.PoliteRobotsTxtMiddleware": 100,
    "crawler.middlewares.retry_after.RetryAfterMiddleware": 555,
    "crawler.middlewares.conditional_get.ConditionalGetMiddleware": 560,
    "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": None,
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "crawler.middlewares.meta_refresh.HeadMetaRefreshMiddleware": 580,
    "crawler.middlewares.size_cap.SizeCapMiddleware": 590,
    "crawler.middlewares.redirect_guard.RedirectGuardMiddleware": 610,
    # Off (COOKIES_ENABLED = False) and not even imported: its module imports tldextract,
    # requests and urllib3 (~3 MiB in every crawl process).
    "scrapy.downloadermiddlewares.cookies.CookiesMiddleware": None,
}
# A Retry-After up to this is waited out in-reactor (docs/reliability.md A7).
CITYFEEDS_RETRY_AFTER_MAX_WAIT = 10.0
CITYFEEDS_MAX_CRAWL_DELAY = 60.0  # a robots.txt Crawl-delay above this is capped

# Scrapy's downloader, with each host's concurrency limit kept under the asyncio reactor
# (Scrapy 2.19 starts every request queued for a host at once).
DOWNLOADER = "crawler.downloader.Downloader"

# Scrapy's default priority queue, counted: the spider gives each queued article its own
# priority (its rank in its document), and Scrapy's queue walks every priority per request.
SCHEDULER_PRIORITY_QUEUE = "crawler.priority_queue.CountedDownloaderAwarePriorityQueue"

ITEM_PIPELINES = {
    "crawler.pipelines.ValidatePipeline": 100,
    "crawler.pipelines.NormalizePipeline": 200,
    "crawler.pipelines.DedupePipeline": 300,
    "crawler.pipelines.TopicsPipeline": 400,
    "crawler.pipelines.StorePipeline": 500,
}

EXTENSIONS = {
    "crawler.extensions.run_recorder.RunRecorder": 100,
    "crawler.extensions.progress.Progress": 110,
    # Off (above) and not even imported (crawler.crawl_settings.drop_disabled_components):
    # remote_control's module imports aiohttp's web server (~70 ms and ~10 MiB per crawl).
    "scrapy.extensions.telnet.TelnetConsole": None,
    "scrapy.extensions.remote_control.RemoteControl": None,
}

LOG_LEVEL = "INFO"
# Timestamps carry their UTC offset, as every time shown to people does: a service's log read
# months later, across a DST change or on another machine, still says when each line happened
# (cityfeeds' own log lines use the same).
LOG_DATEFORMAT = _clock.USER_TIME_FORMAT
#: The format of the cityfeeds command line's and service's own log lines (a crawl's are
#: Scrapy's ``LOG_FORMAT``).
CITYFEEDS_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
FEED_EXPORT_ENCODING = "utf-8"
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
