"""``cityfeeds demo``: crawl a bundled sample site on loopback and build its feeds, offline."""

from __future__ import annotations

import argparse
import shutil
import tempfile
import tomllib
from pathlib import Path

import tomli_w

from crawler.config import Config, config_path

NAME = "demo"
HELP = "offline demo: crawl a bundled sample site on 127.0.0.1 and build its feeds"
DESCRIPTION = """\
Start a loopback web server with a bundled sample city-news site (Russian stories, an RSS feed,
a sitemap and listing pages), crawl it with the real pipeline into a throwaway database, build
the feeds with the topics of your configuration, and print where they are. Needs no internet.
"""
NEEDS_CONFIG = False


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--output",
        default="output/demo",
        help="where to write the demo feeds (default: output/demo)",
    )
    parser.add_argument(
        "--keep-db", action="store_true", help="keep the throwaway database and print its path"
    )


def demo_config(base_config: Path, site_url: str, workdir: Path, output: Path) -> Path:
    """Write a config for the demo site: the user's topics, the demo source, no politeness delay."""
    from cityfeeds.devtools.demo_site import demo_source

    raw = tomllib.loads(base_config.read_text(encoding="utf-8")) if base_config.is_file() else {}
    raw["cityfeeds"] = {
        **raw.get("cityfeeds", {}),
        "output_dir": str(output.resolve()),
        "database_url": f"sqlite:///{workdir / 'demo.db'}",
        "base_url": "http://127.0.0.1:8080/",
    }
    raw["crawl"] = {**raw.get("crawl", {}), "download_delay": 0.0, "autothrottle": False}
    raw["sources"] = [demo_source(site_url)]
    for topic in raw.get("topics", []):
        topic.pop("sources", None)  # the user's sources are not in the demo
    path = workdir / "demo.toml"
    path.write_text(tomli_w.dumps(raw), encoding="utf-8")
    return path


def run(args: argparse.Namespace, config: Config | None) -> int:
    from cityfeeds.commands.crawl import run as crawl_run
    from cityfeeds.devtools.demo_site import serve_site
    from crawler.config import load_config

    workdir = Path(tempfile.mkdtemp(prefix="cityfeeds-demo-"))
    output = Path(args.output)
    try:
        with serve_site() as site:
            print(f"Demo site running at {site.base_url}")
            cfg_path = demo_config(config_path(args.config), site.base_url, workdir, output)
            demo = load_config(cfg_path)
            crawl_args = argparse.Namespace(
                sources=[], no_feeds=False, timeout=300, quiet=False, verbose=args.verbose
            )
            status = crawl_run(crawl_args, demo)
        print()
        print(f"Feeds written to {output.resolve()}/")
        for path in sorted(output.resolve().rglob("*.rss")):
            print(f"  {path}")
        print(f"Open {output.resolve() / 'index.html'} in a browser, or serve them with:")
        print(
            f"  cityfeeds --config {cfg_path} serve"
            if args.keep_db
            else f"  python -m http.server -d {output}"
        )
        return status
    finally:
        if args.keep_db:
            print(f"Demo database and config kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
