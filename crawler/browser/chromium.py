"""One Chromium per crawl process, started by the process itself and shared over CDP.

scrapy-playwright launches a browser per download handler, that is per crawler, and a crawl
child runs a crawler per source: two rendered sources would mean two Chromiums. The crawl child
starts one instead (:class:`SharedChromium`) and every crawler connects to it through
``PLAYWRIGHT_CDP_URL``. Being this process's own child, in its process group, it is closed when
the crawl ends or is interrupted, killed by the kernel when this process dies of SIGKILL
(``PR_SET_PDEATHSIG``), and reaped with the group by the supervisor.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from types import TracebackType

from crawler.browser import BrowserUnavailable
from crawler.lifecycle import dies_with_this_process, process_alive

logger = logging.getLogger(__name__)

#: Switches from Playwright's own Chromium launch that matter for a crawl: headless, no
#: first-run or background traffic of the browser's own (updates, sync, metrics), no sandbox
#: (as Playwright's default; it needs user namespaces the service may not have).
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-sync",
    "--disable-breakpad",
    "--disable-dev-shm-usage",
    "--metrics-recording-only",
    "--password-store=basic",
    "--use-mock-keychain",
    "--mute-audio",
    "--hide-scrollbars",
    # A page's scripts get at most 512 MiB of JavaScript heap: one that allocates without end
    # crashes its renderer there (dropped, "the page crashed the browser") instead of taking
    # gigabytes of the host first.
    "--js-flags=--max-old-space-size=512",
    # Loopback only, on a port the kernel picks; the browser writes it to DevToolsActivePort.
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
)
#: A crawl process's browser folder under the data folder's ``browser/``: this, then its pid.
FOLDER_PREFIX = "chromium-"
#: How long the browser may take to open its DevTools endpoint.
START_TIMEOUT = 30.0
_POLL = 0.05


class SharedChromium:
    """A headless Chromium that the crawlers of this process reach at :attr:`cdp_url`.

    Use as a context manager, or call :meth:`close`; closing twice is harmless.
    """

    def __init__(self, proc: subprocess.Popen[bytes], home: Path, cdp_url: str) -> None:
        self.proc = proc
        self.home = home
        self.cdp_url = cdp_url

    @classmethod
    def start(
        cls, executable: str, workdir: Path, *, timeout: float = START_TIMEOUT
    ) -> SharedChromium:
        """Start Chromium and wait for its DevTools endpoint; BrowserUnavailable if it fails.

        Everything the browser writes (profile, crash reports, its log) goes to a folder of
        this process under ``workdir`` (the data folder's ``browser/``), removed on close;
        the folders of crawl processes that died without closing are removed here.
        """
        _remove_dead_folders(workdir)
        home = workdir / f"{FOLDER_PREFIX}{os.getpid()}"
        shutil.rmtree(home, ignore_errors=True)  # a reused pid's leftovers
        profile = home / "profile"
        profile.mkdir(parents=True)
        log = home / "chromium.log"
        # Chromium keeps crash reports under $XDG_CONFIG_HOME, not in its profile.
        env = {**os.environ, "XDG_CONFIG_HOME": str(home), "XDG_CACHE_HOME": str(home)}
        try:
            with log.open("wb") as err:
                proc = subprocess.Popen(
                    [executable, *CHROMIUM_ARGS, f"--user-data-dir={profile}", "about:blank"],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=err,
                    env=env,
                    preexec_fn=dies_with_this_process(signal.SIGKILL),
                )
        except OSError as exc:
            shutil.rmtree(home, ignore_errors=True)
            raise BrowserUnavailable(f"could not start Chromium {executable}: {exc}") from exc
        browser = cls(proc, home, "")
        try:
            browser.cdp_url = browser._wait_for_endpoint(timeout, profile, log)
        except BaseException:
            browser.close()
            raise
        logger.info("Chromium %s (pid %s) at %s", executable, proc.pid, browser.cdp_url)
        return browser

    def _wait_for_endpoint(self, timeout: float, profile: Path, log: Path) -> str:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BrowserUnavailable(
                    f"Chromium exited with {self.proc.returncode} at start: {_last_line(log)}"
                )
            try:
                lines = port_file.read_text(encoding="ascii").split()
            except OSError:
                lines = []
            if len(lines) == 2 and lines[0].isdigit():  # written whole, not half-way
                return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
            time.sleep(_POLL)
        raise BrowserUnavailable(f"Chromium opened no DevTools endpoint in {timeout:g}s")

    def close(self, grace: float = 5.0) -> None:
        """Stop the browser (SIGTERM, then SIGKILL after ``grace`` s) and remove its folder."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                logger.warning("Chromium (pid %s) ignored SIGTERM: killing it", self.proc.pid)
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.home, ignore_errors=True)

    def __enter__(self) -> SharedChromium:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _last_line(log: Path) -> str:
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return "no output"
    return lines[-1] if lines else "no output"


def _remove_dead_folders(workdir: Path) -> None:
    """Remove the browser folders of crawl processes that are gone (killed before closing)."""
    for folder in workdir.glob(f"{FOLDER_PREFIX}*"):
        pid = folder.name.removeprefix(FOLDER_PREFIX)
        if pid.isdigit() and int(pid) != os.getpid() and not process_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
