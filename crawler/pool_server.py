"""Imported by the extraction pool's forkserver alone (its preload list): it dies with its crawl.

multiprocessing hands every process the forkserver forks a copy of the server's "alive" pipe,
so the server never sees its client go while a worker lives, and the workers wait on a call
queue whose write end they hold themselves. A crawl process killed with SIGKILL where nothing
kills its process group (a crawl child started by hand, ``scrapy crawl``) left the server and
its workers running for good. Importing this module in the server has the kernel kill the
server with its parent; each worker dies with the server (``crawler.workpool``'s initializer).
Nothing else may import it.
"""

from __future__ import annotations

import signal

from crawler.lifecycle import die_with_parent

die_with_parent(signal.SIGKILL)
