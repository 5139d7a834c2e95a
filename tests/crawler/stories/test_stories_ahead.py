"""A story fingerprint computed ahead (in an extraction worker) is used while its article's
fields are the ones it read, and never once they changed."""

from __future__ import annotations

import pickle
import sys

from crawler.stories.features import Fingerprinter, Precomputed, inputs_digest

TITLE = "На улице Тверской открыли 12 новых зарядных станций для электробусов"
LEAD = "Станции заработали 5 декабря у остановок маршрутов т25 и м2."
TEXT = "Зарядные станции установили на Тверской улице. " * 40


def test_a_fingerprint_computed_ahead_is_the_one_computed_in_place() -> None:
    ahead = Fingerprinter().ahead(TITLE, LEAD, TEXT)
    received = pickle.loads(pickle.dumps(ahead))  # as it comes back from a worker
    used = Fingerprinter().of(TITLE, LEAD, TEXT, received)
    assert used == Fingerprinter()(TITLE, LEAD, TEXT) == ahead.fingerprint
    # Its words are interned, as the fingerprints read back from the store are.
    assert all(sys.intern(word) is word for word in used.lemmas)


def test_the_fingerprint_ahead_is_taken_only_for_the_fields_it_read() -> None:
    other = Fingerprinter()("Трамвай сошёл с рельсов на Лесной", "", "")
    planted = Precomputed(inputs_digest(TITLE, LEAD, TEXT), other)
    fingerprinter = Fingerprinter()
    assert fingerprinter.of(TITLE, LEAD, TEXT, planted) == other
    # Any field it read changed (the store can keep a feed's summary): computed again.
    for title, lead, text in (
        (TITLE + "!", LEAD, TEXT),
        (TITLE, "Другое описание.", TEXT),
        (TITLE, LEAD, "Новое начало. " + TEXT),
    ):
        assert fingerprinter.of(title, lead, text, planted) == fingerprinter(title, lead, text)
    # The text beyond what a fingerprint reads does not matter.
    assert fingerprinter.of(TITLE, LEAD, TEXT + " Конец.", planted) == other
    assert fingerprinter.of(TITLE, LEAD, TEXT, None) == fingerprinter(TITLE, LEAD, TEXT)
