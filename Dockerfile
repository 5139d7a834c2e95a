# cityfeeds service image: `cityfeeds run` (scheduled crawls + feed server on :8080).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 1000 cityfeeds
WORKDIR /app

# Dependencies first, so code changes do not reinstall them.
COPY pyproject.toml README.md ./
COPY crawler ./crawler
COPY feeds ./feeds
COPY scheduler.py cityfeeds.toml ./
RUN pip install ".[postgres]"

# data/: SQLite store (if used), the scheduler lock and bookkeeping; output/: published feeds.
RUN mkdir -p /app/data /app/output && chown cityfeeds:cityfeeds /app/data /app/output
VOLUME ["/app/data", "/app/output"]

USER cityfeeds
ENV CITYFEEDS_CONFIG=/app/cityfeeds.toml
EXPOSE 8080
STOPSIGNAL SIGTERM
# /healthz answers 503 when no crawl + feed build succeeded within 3 schedule periods.
HEALTHCHECK --interval=60s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]

# Run with an init (docker run --init, compose `init: true`) so orphans are reaped.
CMD ["cityfeeds", "run", "--host", "0.0.0.0", "--port", "8080", "--grace", "60"]
