"""JSON Feed 1.1: the schema, json.dumps's exact layout, bounded bodies, hubs optional."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import jsonschema
import lxml.html
import pytest
from feeds_samples import BASE_URL, sample_articles

from crawler.models import RelatedReport
from feeds.render import EntryCache, prepare_feed
from feeds.render.jsonfeed import JSON_FEED, Encoded, encode, render_json
from tests.feeds.render.render_support import SCHEMA, SPEC, huge_article, render_sample


def test_json_feed_matches_the_1_1_schema() -> None:
    doc = json.loads(render_sample("json"))
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)
    assert doc["feed_url"] == BASE_URL + "topics/electric-transport.json"
    first = doc["items"][0]
    assert first["id"] == first["url"] == sample_articles()[0].url
    assert first["date_published"] == "2024-03-12T11:00:00+00:00"
    assert first["date_modified"] == "2024-03-12T13:30:00+00:00"
    assert first["tags"] == ["electric-transport", "Транспорт"]
    assert doc["items"][2]["content_text"]  # no HTML body: the text stands in


@pytest.mark.parametrize(
    "value",
    [
        {},
        [],
        {"a": [], "b": {}, "c": None, "d": True, "e": 1.5, "f": 7},
        {"s": 'кавычки " \\ / \n \t \u2028 \x7f 🚌 ]]>', "list": ["x", {"name": "y"}, []]},
        [{"authors": [{"name": "Иван"}], "tags": ["a", "b"]}, "z"],
    ],
)
def test_the_encoder_lays_values_out_exactly_like_json_dumps(value: object) -> None:
    expected = json.dumps(value, ensure_ascii=False, indent=2)
    assert encode(value) == expected
    assert encode(value, "    ") == expected.replace("\n", "\n    ")


def test_encoded_members_are_placed_as_they_are() -> None:
    item = {"id": "a", "tags": ["x"]}
    placed = {"items": [Encoded(encode(item, "    "))]}
    assert encode(placed) == json.dumps({"items": [item]}, ensure_ascii=False, indent=2)


@pytest.mark.parametrize("count", [0, 1, None])
def test_a_whole_feed_is_laid_out_like_json_dumps(count: int | None) -> None:
    """With no item, one, and every sample article (the items are joined apart from the rest
    of the document)."""
    data = render_sample("json", sample_articles()[:count])
    assert len(json.loads(data)["items"]) == len(sample_articles()[:count])
    assert data == (json.dumps(json.loads(data), ensure_ascii=False, indent=2) + "\n").encode()


@pytest.mark.parametrize("html", ["<p>Текст статьи.</p>", ""])
def test_a_story_item_made_from_its_articles_is_the_item_built_anew(html: str) -> None:
    """A story entry's item starts from its article's item (changed content, date_modified,
    related reports added); it must be the very bytes of the item encoded from scratch."""
    article = replace(sample_articles()[0], html=html)
    story = replace(
        article,
        related=[RelatedReport("https://m24.ru/news/9", "Москва 24", 'Слова & "кавычки"')],
        story_updated=article.published + timedelta(hours=3),
    )
    cache = EntryCache()
    plain = cache.get(article, "ru", 5000)
    entry = cache.get(story, "ru", 5000)
    assert plain is not None and entry is not None and entry.article_entry is plain
    feeds = [prepare_feed(SPEC, [a], base_url=BASE_URL, cache=cache) for a in (article, story)]
    rendered = [JSON_FEED.render(feed) for feed in feeds]  # the article's item made first
    anew = replace(feeds[1], entries=(replace(entry, article_entry=None),))
    assert rendered[1] == JSON_FEED.render(anew)
    item = json.loads(rendered[1])["items"][0]
    assert item["date_modified"] == "2024-03-12T14:00:00+00:00"
    assert item["_cityfeeds"]["related"][0]["source"] == "Москва 24"
    assert (
        rendered[1]
        == (json.dumps(json.loads(rendered[1]), ensure_ascii=False, indent=2) + "\n").encode()
    )


def test_long_bodies_are_cut_at_a_block_with_a_link_to_the_original() -> None:
    article = huge_article(1, size=500)  # about 1 MB of HTML (B11)
    doc = json.loads(render_sample("json", [article]))
    body = doc["items"][0]["content_html"]
    assert len(body) < 7000
    assert body.endswith(f'<p>… <a href="{article.url}">Читать полностью</a></p>')
    root = lxml.html.fragment_fromstring(body, create_parent="div")
    assert [child.tag for child in root] == ["p"] * len(root)
    assert lxml.html.tostring(root, encoding="unicode").count("<p>") == len(root)


def test_one_giant_paragraph_is_cut_at_a_word() -> None:
    article = huge_article(2)
    article.html = "<p>" + "слово " * 100_000 + "</p>"
    data = render_sample("json", [article], max_html_chars=1000)
    body = json.loads(data)["items"][0]["content_html"]
    assert len(body) < 1200
    assert body.startswith("<p>слово слово") and "слово</p>" in body


def test_hubs_are_listed_only_when_there_are_some() -> None:
    feed = prepare_feed(SPEC, sample_articles(), base_url=BASE_URL, hubs=["https://hub.example/"])
    doc = json.loads(render_json(feed))
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)
    assert doc["hubs"] == [{"type": "WebSub", "url": "https://hub.example/"}]
    assert "hubs" not in json.loads(render_sample("json"))


@pytest.mark.parametrize("count", [1, 3])
def test_the_related_reports_are_laid_out_like_json_dumps(count: int) -> None:
    """The ``_cityfeeds`` member is written directly, not by the generic encoder."""
    related = [
        RelatedReport(f"https://m24.ru/news/{n}", f"Источник {n}", f'«{n}» & "кавычки" \\ 🚌')
        for n in range(count)
    ]
    story = replace(sample_articles()[0], related=related)
    data = render_json(prepare_feed(SPEC, [story], base_url=BASE_URL))
    doc = json.loads(data)
    assert doc["items"][0]["_cityfeeds"] == {
        "related": [{"url": r.url, "source": r.source, "title": r.title} for r in related]
    }
    assert data == (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode()


@pytest.mark.parametrize(
    "html_body",
    [
        # One giant paragraph with links and emphasis in it, before and across the cut.
        '<p>Начало <a href="https://news.example/a">первая ссылка</a> '
        + "слово " * 3000
        + '<a href="https://news.example/b">вторая</a> конец</p>',
        '<p><em>Курсив</em> и <a href="https://news.example/a">ссылка <b>жирная</b> внутри</a> '
        + "слово " * 3000
        + "</p>",
        # A list with one giant item; a link whose text runs past the cut.
        '<ul><li><a href="https://news.example/a">ссылка</a> ' + "слово " * 3000 + "</li></ul>",
        "<p>"
        + "слово " * 100
        + '<a href="https://news.example/a">'
        + "длинная ссылка " * 300
        + "</a></p>",
    ],
)
def test_one_giant_block_is_cut_inside_and_keeps_its_links(html_body: str) -> None:
    # It was replaced by its text: a 25,000-character paragraph lost every link in it.
    article = huge_article(3)
    article.html = html_body
    data = render_sample("json", [article], max_html_chars=1000)
    body = json.loads(data)["items"][0]["content_html"]
    assert len(body) <= 1000
    root = lxml.html.fragment_fromstring(body, create_parent="div")
    links = [a.get("href") for a in root.iter("a")]
    assert links[0] == "https://news.example/a" and links[-1] == article.url
    shown = root[0].text_content()
    whole = lxml.html.fragment_fromstring(html_body, create_parent="div").text_content()
    assert len(shown) > 500 and whole.startswith(shown.rstrip())  # cut after a whole word
    assert whole[len(shown.rstrip())] == " "
    assert body.endswith(f'<p>… <a href="{article.url}">Читать полностью</a></p>')


@pytest.mark.parametrize(
    "html_body",
    [
        "<b>МОСКВА, 5 декабря.</b> " + "слово " * 3000,
        '<a href="https://news.example/a">ссылка</a> сообщил, что ' + "слово " * 3000,
        "<div><b>Важно</b> " + "слово " * 3000 + "</div>",
        # Text first: it was kept whole past the bound, or cut to its first words (the fourth
        # re-check).
        "слово " * 3000,
        "Москва. <b>5 декабря</b> " + "слово " * 3000,
        'Коротко <a href="https://news.example/a">ссылка</a> ' + "слово " * 3000,
        ("слово " * 200 + "<br>") * 20,
    ],
)
def test_text_with_no_block_around_it_is_cut_after_a_word_not_to_its_first_element(
    html_body: str,
) -> None:
    # Stored HTML of an older policy or written by hand: the cut kept only "<b>МОСКВА, 5
    # декабря.</b>" (the first element, without the text after it).
    article = huge_article(4)
    article.html = html_body
    data = render_sample("json", [article], max_html_chars=1000)
    body = json.loads(data)["items"][0]["content_html"]
    assert len(body) <= 1000
    shown = lxml.html.fragment_fromstring(body, create_parent="div").text_content()
    assert shown.count("слово") > 100, body
    assert body.endswith(f'<p>… <a href="{article.url}">Читать полностью</a></p>')
