"""The shared queue's wire format: what older workers queued still loads; settings match docs."""

from __future__ import annotations

import importlib
import pickle
import re
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from scrapy.utils.misc import load_object
from scrapy.utils.request import request_from_dict

from crawler.discovery import Link
from crawler.distributed import serialize
from crawler.distributed.dupefilter import SourceDupeFilter
from crawler.distributed.scheduler import RedisScheduler
from crawler.distributed.serialize import loads
from crawler.distributed.settings import RUN_META, SOURCE_META, distributed_settings
from crawler.distributed.spider import DistributedNewsSpider
from tests.conftest import ROOT

# An article request as queued before crawler/distributed.py became a package (commit e19228e):
# ``Request.to_dict()`` pickled with protocol 5, its link pickled as ``crawler.discovery.Link``.
QUEUED_BEFORE_THE_SPLIT = bytes.fromhex(
    "800595cd010000000000007d94288c0375726c948c1468747470733a2f2f766d2e72752f6e6577732f31948c"
    "0863616c6c6261636b948c0d70617273655f61727469636c65948c076572726261636b948c0d61727469636c"
    "655f6572726f72948c0768656164657273947d948c04626f6479944300948c07636f6f6b696573947d948c04"
    "6d657461947d94288c0e6369747966656564735f6c696e6b948c11637261776c65722e646973636f76657279"
    "948c044c696e6b9493942981947d942868018c1468747470733a2f2f766d2e72752f6e6577732f31948c0574"
    "69746c65948c02d0a2948c097075626c6973686564948c086461746574696d65948c086461746574696d6594"
    "9394430a07ea01010000000000009468198c0874696d657a6f6e6594939468198c0974696d6564656c746194"
    "93944b004b004b008794529485945294869452948c0773756d6d617279944e75628c1063697479666565647"
    "35f736f75726365948c02766d948c0d6369747966656564735f72756e944b07758c08656e636f64696e6794"
    "8c057574662d38948c05666c616773945d948c0963625f6b7761726773947d948c0b646f6e745f66696c7465"
    "7294898c066d6574686f64948c03474554948c087072696f72697479944b05752e"
)


def test_a_request_queued_before_the_split_loads_into_todays_worker() -> None:
    spider = DistributedNewsSpider()
    request = request_from_dict(loads(QUEUED_BEFORE_THE_SPLIT), spider=spider)
    assert request.callback == spider.parse_article
    assert request.errback == spider.article_error
    assert request.meta[SOURCE_META] == "vm" and request.meta[RUN_META] == 7
    assert request.meta["cityfeeds_link"] == Link(
        url="https://vm.ru/news/1", title="Т", published=datetime(2026, 1, 1, tzinfo=UTC)
    )
    assert request.priority == 5


@pytest.mark.parametrize("module", ["crawler.discovery", Link.__module__])
def test_the_link_class_loads_under_its_old_and_current_module_names(module: str) -> None:
    # Protocol 0's GLOBAL opcode: the pickle names a class by module and name, nothing else.
    assert loads(b"c" + module.encode() + b"\nLink\n.") is Link


@pytest.mark.parametrize("name", ["os\nsystem", "crawler.discovery\nos", "builtins\neval"])
def test_anything_outside_the_allow_list_is_refused(name: str) -> None:
    with pytest.raises(pickle.UnpicklingError, match="refusing to load"):
        loads(b"c" + name.encode() + b"\n.")


def test_the_settings_name_the_components_that_exist() -> None:
    settings = distributed_settings("redis://127.0.0.1:6379/0")
    assert load_object(settings["SCHEDULER"]) is RedisScheduler
    assert load_object(settings["DUPEFILTER_CLASS"]) is SourceDupeFilter
    # scrapy-redis imports the serializer setting as a module with dumps/loads.
    assert importlib.import_module(settings["SCHEDULER_SERIALIZER"]) is serialize
    assert settings["SCHEDULER_QUEUE_KEY"] == "cityfeeds:requests"
    assert settings["SCHEDULER_DUPEFILTER_KEY"] == "cityfeeds:seen"


def test_docs_show_the_dotted_paths_a_worker_uses() -> None:
    scaling = (ROOT / "docs" / "scaling.md").read_text(encoding="utf-8")
    documented = dict(re.findall(r"^\| `([A-Z_]+)` \| `([^`]+)` \|", scaling, re.M))
    settings = distributed_settings("redis://127.0.0.1:6379/0")
    for name in ("SCHEDULER", "DUPEFILTER_CLASS", "SCHEDULER_SERIALIZER"):
        assert documented[name] == settings[name], name


def test_the_cli_imports_scrapy_redis_only_for_a_distributed_command() -> None:
    # scrapy-redis is an optional extra: every other command must work without it installed.
    # (The redis client itself may be imported by datasketch, whose optional Redis backend is a
    # guarded import that works without it, so only scrapy-redis is checked.)
    code = (
        "import sys, cityfeeds.cli, cityfeeds.commands.enqueue, cityfeeds.commands.worker, "
        "cityfeeds.commands.run; print(sorted(m for m in sys.modules if m.startswith("
        "'scrapy_redis')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
