"""Story matching (crawler/stories): rewrites of one event join, look-alike events stay apart."""

from __future__ import annotations

import json
import random
from dataclasses import fields, replace
from datetime import datetime, timedelta

import numpy as np
import pytest
from datasketch import LeanMinHash, MinHash, MinHashLSH
from stories_samples import (
    BRIEFS,
    BUS_2000_MOS,
    BUS_2000_VM,
    BUS_2500,
    CLOSING,
    EBUSES_MARYINO,
    EIGHT_ROUTES_RAMBLER,
    EIGHT_ROUTES_RAMBLER_2,
    EIGHT_ROUTES_SMI,
    OPENING_HOSPITAL,
    OPENING_STATION,
    OPENINGS_DIGEST,
    ROUTE_776_M24,
    ROUTE_776_MOS,
    ROUTE_812,
    T0,
    TRAM_LESNAYA,
    TRAM_SHABOLOVKA,
    TRAMS_BOULEVARD,
)

from crawler.stories.features import Fingerprint, fingerprint
from crawler.stories.index import (
    Match,
    Member,
    StoryIndex,
    gather,
    minhash,
    signature_bytes,
    signature_from_bytes,
)
from crawler.stories.settings import StorySettings
from crawler.stories.sketch import Signature, band_matches, lsh_params
from crawler.stories.verify import Verdict, compare
from crawler.topics.morph import Lemmatizer

LEMMATIZER = Lemmatizer()
SETTINGS = StorySettings()


def fp(pair: tuple[str, str]) -> Fingerprint:
    return fingerprint(pair[0], pair[1], "", LEMMATIZER)


def test_the_same_event_in_other_words_joins() -> None:
    verdict = compare(fp(ROUTE_776_MOS), fp(ROUTE_776_M24), SETTINGS)
    assert verdict.joined
    assert "numbers 776" in verdict.evidence


def test_ordinals_in_digits_and_in_words_are_the_same_number() -> None:
    a, b = fp(BUS_2000_MOS), fp(BUS_2000_VM)
    assert "2000" in a.numbers and "2000" in b.numbers
    assert compare(a, b, SETTINGS).joined


@pytest.mark.parametrize(
    ("first", "second", "why"),
    [
        (ROUTE_776_MOS, ROUTE_812, "numbers"),
        (BUS_2000_VM, BUS_2500, "numbers"),
        (TRAM_SHABOLOVKA, TRAM_LESNAYA, "places"),
    ],
)
def test_look_alike_events_stay_apart(
    first: tuple[str, str], second: tuple[str, str], why: str
) -> None:
    verdict = compare(fp(first), fp(second), SETTINGS)
    assert not verdict.joined
    assert any(e.startswith(f"apart: {why}") for e in verdict.evidence)


def test_tags_written_in_headlines_are_no_shared_words() -> None:
    # Hostile headlines: «<img src=x onerror=alert(1)>» in both joined two unrelated reports.
    a = fp(("Трамвай <script>alert(1)</script> сошёл с рельсов", "В центре сошёл трамвай."))
    b = fp(("Школа <img src=x onerror=alert(1)> откроется в мае", "Новая школа на 700 мест."))
    assert not {"script", "alert", "img", "src", "onerror"} & (a.lemmas | b.lemmas)
    assert not compare(a, b, SETTINGS).joined
    assert "сойти" in a.head_lemmas or "трамвай" in a.head_lemmas


def test_a_shared_count_does_not_make_other_routes_one_event() -> None:
    """Both headlines count 15 buses, but each names a route the other report never does: two
    events (they were joined on the shared count)."""
    a = fp(("Новый электробус вышел на маршрут 904", "На маршрут 904 вышли 15 новых электробусов."))
    b = fp(("Новый электробус вышел на маршрут 812", "На маршрут 812 вышли 15 новых электробусов."))
    assert "15" in a.head_numbers & b.head_numbers
    verdict = compare(a, b, SETTINGS)
    assert not verdict.joined
    assert any(e.startswith("apart: numbers") for e in verdict.evidence)
    # One report's extra headline figure is no conflict when the other report has it too.
    c = fp(("На маршрут 904 вышли 15 электробусов", "Всего их на маршруте 904 теперь 40."))
    d = fp(("40 электробусов работают на маршруте 904", "На маршрут 904 вышли ещё 15 машин."))
    assert compare(c, d, SETTINGS).joined


def test_one_street_named_in_two_cases_is_one_place() -> None:
    """«Улицу Тверскую» reads as тверская, «На Тверской улице» as тверской: places compare by
    their stems (the two reports were kept apart on "places тверская ≠ тверской")."""
    a = fp(
        ("Улицу Тверскую перекроют в субботу", "Улицу Тверскую перекроют в субботу из-за ремонта.")
    )
    b = fp(("На Тверской улице ограничат движение в субботу", "На Тверской улице начнут ремонт."))
    assert a.places != b.places
    verdict = compare(a, b, SETTINGS)
    assert verdict.joined, verdict
    assert "places тверская" in verdict.evidence


def test_a_place_name_is_read_within_one_sentence() -> None:
    # Shortened from real leads (lenta.ru, news.mail.ru in tests/fixtures/stories): the word
    # after «метро» at a headline's end or a sentence's end starts the next sentence.
    lenta = fp(
        (
            "Путин и Собянин открыли новые станции Троицкой линии метро",
            "Президент России Владимир Путин и мэр Москвы Сергей Собянин открыли четыре новые "
            "станции метро Троицкой линии.",
        )
    )
    mail = fp(
        (
            "",
            "В Москве открыли четыре новые станции на Троицкой линии метро. Церемония прошла в "
            "рамках визита Владимира Путина в Национальный космический центр.",
        )
    )
    assert lenta.places == {"троицкий"}
    assert not mail.places
    assert compare(lenta, mail, SETTINGS).joined


def test_the_index_offers_only_members_within_the_window() -> None:
    index = StoryIndex(SETTINGS)
    first = fp(ROUTE_776_MOS)
    sig = minhash(first, SETTINGS.num_perm)
    index.add(Member(1, 10, "mos", T0, first, sig))
    again = fp(ROUTE_776_M24)
    again_sig = minhash(again, SETTINGS.num_perm)
    match = index.best_match(again, again_sig, T0 + timedelta(hours=5), "m24")
    assert match is not None and match.member.story_id == 10
    late = T0 + SETTINGS.window + timedelta(minutes=1)
    assert index.best_match(again, again_sig, late, "m24") is None
    # A source's own near-copy is not another outlet's report of the story.
    assert index.best_match(again, again_sig, T0, "mos") is None


NO_KEYS = Fingerprint(*(frozenset[str](),) * 6)


def _offered_by_definition(
    members: dict[int, Member],
    signature: Signature,
    when: datetime,
    source: str,
    fingerprint: Fingerprint,
    settings: StorySettings,
) -> list[int]:
    """What ``StoryIndex.candidates`` offered with a table of buckets per band (up to
    cf2cbf4): members sharing a band or a headline number or code, in article id order,
    within the window and of other sources, then the ``max_candidates`` with the most equal
    minimums (ties: the lower article id)."""
    bands, rows = lsh_params(settings.lsh_threshold, settings.num_perm)
    keys = fingerprint.head_numbers | fingerprint.codes
    found = []
    for article_id in sorted(members):
        m = members[article_id]
        shares_band = any(
            m.signature.hashvalues[b * rows : (b + 1) * rows].tobytes()
            == signature.hashvalues[b * rows : (b + 1) * rows].tobytes()
            for b in range(bands)
        )
        shares_key = bool(keys & (m.fingerprint.head_numbers | m.fingerprint.codes))
        if (
            (shares_band or shares_key)
            and abs((m.published - when).total_seconds()) <= settings.window_hours * 3600
            and m.source != source
        ):
            found.append(article_id)
    if len(found) > settings.max_candidates:
        estimate = {
            k: int((members[k].signature.hashvalues == signature.hashvalues).sum()) for k in found
        }
        found = sorted(found, key=lambda k: -estimate[k])[: settings.max_candidates]
    return found


@pytest.mark.parametrize("threshold", [0.1, 0.3])
def test_the_index_offers_the_candidates_of_lsh_buckets(threshold: float) -> None:
    # Rows of a matrix instead of buckets per band: the same members, in the same order,
    # through additions, removals (rows freed and reused), eviction and the candidate cap.
    settings = StorySettings(lsh_threshold=threshold, max_candidates=6)
    rng = random.Random(15)
    vocabulary = [f"слово{i}" for i in range(40)]

    def random_fingerprint() -> Fingerprint:
        empty: frozenset[str] = frozenset()
        heads = frozenset(rng.sample(["776", "812", "2000"], rng.randint(0, 1)))
        lemmas = frozenset(rng.sample(vocabulary, rng.randint(2, 12)))
        return Fingerprint(lemmas, heads, empty, empty, empty, empty, head_numbers=heads)

    index = StoryIndex(settings)
    members: dict[int, Member] = {}
    for step in range(600):
        article_id = rng.randint(1, 250)
        if rng.random() < 0.2:
            index.remove(article_id)
            members.pop(article_id, None)
        else:
            f = random_fingerprint()
            when = T0 + timedelta(hours=rng.uniform(-100, 100))
            member = Member(
                article_id, article_id, f"s{rng.randint(1, 4)}", when, f, minhash(f, 64)
            )
            index.add(member)
            members[article_id] = member
        if step == 400:
            index.evict(T0 - timedelta(hours=60))
            members = {k: m for k, m in members.items() if m.published >= T0 - timedelta(hours=60)}
        if step % 5 == 0:
            f = random_fingerprint()
            sig, when = minhash(f, 64), T0 + timedelta(hours=rng.uniform(-50, 50))
            source = f"s{rng.randint(1, 4)}"
            assert [m.article_id for m in index.candidates(sig, when, source, f)] == (
                _offered_by_definition(members, sig, when, source, f, settings)
            )
            assert [m.article_id for m in index.candidates(sig, when, source)] == (
                _offered_by_definition(members, sig, when, source, NO_KEYS, settings)
            )


def test_fingerprints_and_signatures_survive_storage() -> None:
    first = fp(BUS_2000_MOS)
    assert Fingerprint.from_json(first.to_json()) == first
    # Every field, weekdays included (a member read back once lost them, and with them the
    # bonus a report naming the same day gets against it in the process that stored it).
    dated = fp(("В субботу на маршрут 776 выйдут электробусы", "Маршрут заработает во вторник."))
    assert dated.weekdays
    assert Fingerprint.from_json(json.loads(json.dumps(dated.to_json()))) == dated
    full = Fingerprint(**{f.name: frozenset({f.name, "776"}) for f in fields(Fingerprint)})
    assert Fingerprint.from_json(json.loads(json.dumps(full.to_json()))) == full
    # Stored before a field existed: read back with it empty.
    old = {k: v for k, v in first.to_json().items() if k != "weekdays"}
    assert Fingerprint.from_json(old) == first
    sig = minhash(first, SETTINGS.num_perm)
    assert signature_from_bytes(signature_bytes(sig)).jaccard(sig) == 1.0
    assert len(signature_bytes(sig)) == 4 * SETTINGS.num_perm


def test_fingerprints_read_back_share_their_words_and_empty_sets() -> None:
    # An index of stored members holds thousands: one copy of each lemma and of the empty set.
    stored = json.dumps(fp(BUS_2000_MOS).to_json())
    first, second = (Fingerprint.from_json(json.loads(stored)) for _ in range(2))
    assert first == second == fp(BUS_2000_MOS)
    assert not first.events and first.events is second.events is NO_KEYS.places
    shared = {id(w) for w in first.lemmas} & {id(w) for w in second.lemmas}
    assert len(shared) == len(first.lemmas)


def test_eviction_forgets_old_members() -> None:
    index = StoryIndex(SETTINGS)
    first = fp(ROUTE_776_MOS)
    index.add(Member(1, 10, "mos", T0, first, minhash(first, SETTINGS.num_perm)))
    assert index.evict(T0 + timedelta(hours=1)) == 1
    assert len(index) == 0


def test_an_index_never_evicted_keeps_no_trace_of_members_it_let_go() -> None:
    # The store's older days add and remove members for a whole crawl and never evict by age:
    # the age heap must not keep an entry per member ever held.
    index = StoryIndex(SETTINGS)
    first = fp(ROUTE_776_MOS)
    signature = minhash(first, SETTINGS.num_perm)
    for n in range(1, 2001):
        index.add(Member(n, n, "mos", T0 + timedelta(minutes=n), first, signature))
        if n > 10:
            index.remove(n - 10)
    assert len(index) == 10 and len(index._by_age) <= 2 * 10 + 64
    index.add(Member(5, 5, "mos", T0, first, signature))  # replaces nothing: 5 was removed
    assert index.evict(T0 + timedelta(minutes=1995)) == 5  # 5 and 1991-1994
    assert sorted(index.members) == list(range(1995, 2001))


def test_signatures_with_shared_permutations_equal_datasketchs_own() -> None:
    # minhash() reuses the seed's permutations instead of drawing them per article: the stored
    # signatures must stay exactly what a plain seeded MinHash gives.
    lemmas = frozenset(f"электробус{i}" for i in range(40)) | {"маршрут", "москва"}
    empty: frozenset[str] = frozenset()
    fp = Fingerprint(lemmas, empty, empty, empty, empty, empty, empty)
    for num_perm in (64, 128):
        plain = MinHash(num_perm=num_perm, seed=1, scheme="affine32")
        plain.update_batch([lemma.encode("utf-8") for lemma in sorted(lemmas)])
        ours = minhash(fp, num_perm)
        assert ours.hashvalues.tobytes() == LeanMinHash(plain).hashvalues.tobytes()
        assert signature_bytes(ours) == LeanMinHash(plain).hashvalues.astype("<u4").tobytes()


@pytest.mark.parametrize("tokens", [0, 1, 7, 300])
def test_sketch_signatures_are_datasketchs_affine32_signatures(tokens: int) -> None:
    # Signatures stored by earlier versions (made with datasketch) must keep matching new ones.
    rng = random.Random(tokens)
    data = [f"слово{rng.random()}".encode() for _ in range(tokens)]
    for num_perm in (16, 128, 256):
        for seed in (1, 7):
            plain = MinHash(num_perm=num_perm, seed=seed, scheme="affine32")
            plain.update_batch(data)
            ours = Signature.of(data, num_perm, seed)
            assert ours.hashvalues.dtype == LeanMinHash(plain).hashvalues.dtype
            assert (ours.hashvalues == LeanMinHash(plain).hashvalues).all()
            assert Signature.from_bytes(ours.to_bytes()).jaccard(ours) == 1.0


@pytest.mark.parametrize("threshold", [0.05, 0.1, 0.3, 0.5, 0.9])
@pytest.mark.parametrize("num_perm", [32, 128])
def test_lsh_bands_are_the_ones_datasketch_chooses(threshold: float, num_perm: int) -> None:
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    assert lsh_params(threshold, num_perm) == (lsh.b, lsh.r)


@pytest.mark.parametrize("threshold", [0.1, 0.5])
def test_band_matches_offer_what_datasketchs_lsh_offers(threshold: float) -> None:
    rng = random.Random(5)
    vocabulary = [f"w{i}".encode() for i in range(60)]
    sets = {key: rng.sample(vocabulary, rng.randint(3, 30)) for key in range(200)}
    bands, rows = lsh_params(threshold, 128)
    theirs = MinHashLSH(num_perm=128, params=(bands, rows))
    for key, tokens in sets.items():
        plain = MinHash(num_perm=128, seed=1, scheme="affine32")
        plain.update_batch(tokens)
        theirs.insert(key, LeanMinHash(plain))
    matrix = np.stack([Signature.of(tokens, 128, 1).hashvalues for tokens in sets.values()], 1)
    keys = np.array(list(sets))
    offered = 0
    for tokens in list(sets.values())[:50]:
        plain = MinHash(num_perm=128, seed=1, scheme="affine32")
        plain.update_batch(tokens)
        ours = keys[band_matches(matrix, Signature.of(tokens, 128, 1), bands, rows)]
        assert ours.tolist() == sorted(theirs.query(plain))
        offered += len(ours)
    assert 50 < offered < 50 * len(sets)  # some, not all


# Shortened from real leads (news.mail.ru, m24.ru; gazeta.ru, news.mail.ru in
# tests/fixtures/stories): one object, neighbouring days, another phase of it.
RINK_ASSEMBLY = (
    "",
    "Работы по монтажу ГУМ-катка на Красной площади начались в Москве, сообщили ТАСС в "
    "пресс-службе катка.",
)
RINK_OPENING = (
    "ГУМ-Каток на Красной площади начнет работать 1 декабря",
    "На Красной площади Москвы 1 декабря откроется ГУМ-Каток. Он будет работать до 1 марта.",
)
TREE_TRIP = (
    "Главную новогоднюю елку страны отправили из Рузы в Кремль",
    "Главную новогоднюю елку России отправили из Рузы в Московской области в Кремль.",
)
TREE_PRESENTATION = (
    "",
    "Презентация главной новогодней елки страны в Кремле состоится 23 декабря, дизайн-проект "
    "оформления ели в этом году — «Морозный узор».",
)


@pytest.mark.parametrize(
    ("first", "second"), [(RINK_ASSEMBLY, RINK_OPENING), (TREE_TRIP, TREE_PRESENTATION)]
)
def test_headlines_naming_other_phases_of_one_object_stay_apart(
    first: tuple[str, str], second: tuple[str, str]
) -> None:
    verdict = compare(fp(first), fp(second), SETTINGS)
    assert not verdict.joined
    assert any(e.startswith("apart: events") for e in verdict.evidence)


def test_other_phases_sharing_a_date_are_one_announcement() -> None:
    # A closure and the reopening it announces: the shared date outweighs the wording.
    closed = fp(("Участок Калининской линии закроют 9 января", "Станции закроют на ремонт."))
    reopened = fp(("Участок Калининской линии откроют 12 января", "Ремонт начнется 9 января."))
    assert closed.events == {"close"} and reopened.events == {"open"}
    assert not any(
        e.startswith("apart: events") for e in compare(closed, reopened, SETTINGS).evidence
    )


def test_a_shared_headline_count_lifts_the_veto_of_one_headline_number() -> None:
    # «Восемь маршрутов» and «8 новых маршрутов» lead both headlines; one names 18 districts,
    # the other 248 routes in all: figures of one announcement, not two events.
    verdict = compare(fp(EIGHT_ROUTES_RAMBLER), fp(EIGHT_ROUTES_RAMBLER_2), SETTINGS)
    assert verdict.joined and "counts 8" in verdict.evidence
    # Without the shared count the headline number still keeps them apart.
    assert not compare(fp(EIGHT_ROUTES_SMI), fp(EIGHT_ROUTES_RAMBLER), SETTINGS).joined


def test_the_index_offers_members_sharing_a_headline_number_whatever_lsh_says() -> None:
    index = StoryIndex(SETTINGS)
    first = fp(ROUTE_776_MOS)
    index.add(Member(1, 10, "mos", T0, first, minhash(first, SETTINGS.num_perm)))
    unrelated = fp(("Маршрут 776 продлят", "Изменения вступят в силу в марте."))
    empty = minhash(Fingerprint(*(frozenset() for _ in range(7))), SETTINGS.num_perm)
    assert [m.article_id for m in index.candidates(empty, T0, "m24", unrelated)] == [1]
    assert index.candidates(empty, T0, "m24") == []
    index.remove(1)
    assert index.candidates(empty, T0, "m24", unrelated) == []


def _match(article_id: int, story_id: int, pair: tuple[str, str], score: float) -> Match:
    f = fp(pair)
    member = Member(article_id, story_id, f"s{article_id}", T0, f, minhash(f, SETTINGS.num_perm))
    return Match(member, Verdict(True, score, ()))


def test_a_one_report_best_match_gives_way_to_an_older_story_it_verifies_with() -> None:
    single = _match(2, 2, EIGHT_ROUTES_RAMBLER, 0.7)
    older = _match(3, 1, EIGHT_ROUTES_RAMBLER_2, 0.4)
    story, moved = gather([single, older], {1: 2, 2: 1}, {1: 1, 2: 2}, SETTINGS)
    assert story == 1 and moved == [single]
    # An older story the one-report story does not verify with is not joined...
    unrelated = _match(3, 1, RINK_OPENING, 0.4)
    assert gather([single, unrelated], {1: 2, 2: 1}, {1: 1, 2: 2}, SETTINGS) == (2, [])
    # ...and a newer one-report story moves into the best match's story.
    assert gather([older, single], {1: 2, 2: 1}, {1: 1, 2: 2}, SETTINGS) == (1, [single])


def _of(article_id: int, story_id: int, source: str, pair: tuple[str, str]) -> Match:
    f = fp(pair)
    member = Member(article_id, story_id, source, T0, f, minhash(f, SETTINGS.num_perm))
    return Match(member, Verdict(True, 0.5, ()))


@pytest.mark.parametrize(
    ("held", "mover", "moves"),
    [
        (ROUTE_776_MOS, ROUTE_812, False),  # a rival of the story's report of its source
        (ROUTE_776_MOS, ROUTE_776_M24, True),  # the source's second report of one event
        (None, ROUTE_812, True),  # the story holds no report of its source
    ],
)
def test_a_one_report_story_moves_in_only_if_no_report_of_its_source_there_is_its_rival(
    held: tuple[str, str] | None, mover: tuple[str, str], moves: bool
) -> None:
    # The new report (of "dzen") matched story 1 through its "vm" report only; the story also
    # holds a "mos" report the new report never matched. Checked against the matched members
    # alone, "mos"'s route 812 moved in beside its route 776.
    peer = None if held is None else _of(5, 1, "mos", held).member
    matches = [_of(1, 1, "vm", ROUTE_776_M24), _of(2, 2, "mos", mover)]

    def peers(story: int, source: str, published: datetime) -> list[Member]:
        return [peer] if peer is not None and (story, source) == (1, "mos") else []

    story, moved = gather(matches, {1: 2, 2: 1}, {1: 1, 2: 2}, SETTINGS, "dzen", peers)
    assert story == 1 and moved == (matches[1:] if moves else [])


def test_of_two_rival_one_report_stories_of_one_source_only_the_first_moves_in() -> None:
    # The tester's case: each of one outlet's route reports verified with another outlet's
    # numberless report, and all moved into its story (each checked against that report).
    numberless = (
        "Электробусы вышли на новый маршрут на востоке Москвы",
        "Два современных электробуса начали курсировать по новому маршруту, сообщил Ликсутов.",
    )
    matches = [
        _of(1, 1, "vm", numberless),
        _of(2, 2, "mos", ROUTE_776_MOS),
        _of(3, 3, "mos", ROUTE_812),
    ]
    story, moved = gather(matches, {1: 1, 2: 1, 3: 1}, {1: 1, 2: 2, 3: 3}, SETTINGS, "dzen")
    assert story == 1 and moved == [matches[1]]


def test_a_name_in_two_cases_and_a_shared_weekday_are_evidence() -> None:
    # Shortened from real leads (news.mail.ru, mackva.ru in tests/fixtures/stories): one
    # forecaster's words, «Михаил Леус» and «по словам Леуса», the same day of the week.
    forecast = fp(
        (
            "",
            "Пик похолодания в Москве ожидается в среду, в ночные часы температура воздуха "
            "приблизится к минус 20, сообщил специалист центра погоды «Фобос» Михаил Леус.",
        )
    )
    rewrite = fp(
        (
            "Пик похолодания до -20°C ожидается в Москве в среду",
            "По словам Леуса, снегопад прекратится в ночь на вторник.",
        )
    )
    assert "леус" in forecast.names & rewrite.names
    verdict = compare(forecast, rewrite, SETTINGS)
    assert "days среду" in verdict.evidence and "numbers 20" in verdict.evidence
    assert verdict.joined


def closed(pair: tuple[str, str], closing: str = CLOSING) -> Fingerprint:
    """A brief's fingerprint: its lead, then ``closing`` as the body's last paragraph."""
    return fingerprint(pair[0], pair[1], f"{pair[1]}\n\n{closing}", LEMMATIZER)


def test_similarity_the_headlines_do_not_carry_does_not_join() -> None:
    # A rink's opening and electric buses under one closing sentence: what the headlines share
    # with the other report is «новый».
    rink, buses = closed(BRIEFS[0]), closed(EBUSES_MARYINO)
    verdict = compare(rink, buses, SETTINGS)
    assert not verdict.joined and not verdict.apart
    assert verdict.evidence[-1] == "unsupported by the headlines: новый"
    # Counted in full, and with no headline support asked for, the closing line joined them.
    assert compare(rink, buses, replace(SETTINGS, body_weight=1.0, head_support=0)).joined


def test_a_ring_road_is_a_place() -> None:
    # «по Бульварному кольцу» against «в районе Марьино»: the tester's pair, now also rival
    # places (the ring was no place word, so the two named no conflicting places).
    verdict = compare(closed(TRAMS_BOULEVARD), closed(EBUSES_MARYINO), SETTINGS)
    assert "apart: places бульварный ≠ марьино" in verdict.evidence


def test_rewrites_under_one_closing_line_still_join() -> None:
    verdict = compare(closed(ROUTE_776_MOS), closed(ROUTE_776_M24), SETTINGS)
    assert verdict.joined and "numbers 776" in verdict.evidence


def test_a_fingerprint_stored_without_headline_lemmas_verifies_as_before() -> None:
    # Members stored before ``head_lemmas`` existed read it back empty: no discount, no check.
    old = replace(closed(BRIEFS[0]), head_lemmas=())
    before = replace(SETTINGS, body_weight=1.0, head_support=0)
    verdict = compare(old, closed(EBUSES_MARYINO), SETTINGS)
    assert verdict == compare(old, closed(EBUSES_MARYINO), before)
    assert verdict.joined  # until `cityfeeds feeds --recluster` fingerprints it again


def test_a_sentences_first_word_is_no_place_name() -> None:
    # «Жители района…»: capitalised because it starts the sentence, not a district's name.
    assert not fp(("", "Жители района смогут оценить изменения уже в ближайшие дни.")).places
    assert fp(("", "Новые электробусы вышли на маршрут в районе Марьино.")).places == {"марьино"}
    # Unless it can be a name: a street's name first, a describing adjective never.
    assert fp(("", "Тверскую улицу перекроют в субботу из-за ремонта.")).places == {"тверская"}
    assert fp(("", "Мясницкую улицу перекроют в субботу.")).places == {"мясницкий"}
    assert not fp(("", "Новую станцию метро откроют в декабре.")).places
    assert not fp(("", "Первую улицу в районе перекроют в субботу.")).places


def test_a_report_does_not_join_a_story_holding_its_sources_report_of_another_event() -> None:
    # One outlet's hospital and station openings each verify with another outlet's report of
    # both, not with each other: the station report is not joined to the hospital's story.
    hospital, digest, station = fp(OPENING_HOSPITAL), fp(OPENINGS_DIGEST), fp(OPENING_STATION)
    assert compare(station, digest, SETTINGS).joined
    assert not compare(station, hospital, SETTINGS).joined
    index = StoryIndex(SETTINGS)
    for article_id, source, f in ((1, "sitea", hospital), (2, "siteb", digest)):
        index.add(Member(article_id, 1, source, T0, f, minhash(f, SETTINGS.num_perm)))
    signature = minhash(station, SETTINGS.num_perm)
    assert index.verified(station, signature, T0, "sitea") == []
    # Another outlet's station report joins; so does the hospital's own outlet's rewrite.
    assert [m.member.article_id for m in index.verified(station, signature, T0, "sitec")] == [2]
    rewrite = fp(("Больница на 600 коек открылась в Коммунарке", OPENING_HOSPITAL[1]))
    matched = index.verified(rewrite, minhash(rewrite, SETTINGS.num_perm), T0, "sitea")
    assert [m.member.article_id for m in matched] == [2]


def test_signatures_of_lemmas_are_those_of_their_bytes() -> None:
    # minhash() hashes lemmas through a cache keyed by the lemma, mixed in Python: the same
    # signature as Signature.of over the UTF-8 bytes (held to datasketch above).
    from crawler.stories.sketch import lemma_hash

    rng = random.Random(15)
    alphabet = "абвгдеёжзийклмнопрстуфхцчшщъыьэюяabcxyz0123456789-«»🚌"
    for n in range(400):
        lemmas = {
            "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))
            for _ in range(rng.choice([0, 1, 5, 60, 200]))
        }
        if n % 2:
            lemmas |= {"маршрут", "москва"}  # remembered from an earlier set
        for num_perm in (64, 128):
            ours = Signature.of_lemmas(lemmas, num_perm, 1)
            plain = Signature.of([lemma.encode("utf-8") for lemma in lemmas], num_perm, 1)
            assert ours.hashvalues.dtype == plain.hashvalues.dtype
            assert (ours.hashvalues == plain.hashvalues).all()
    assert lemma_hash.cache_info().hits > 0
