"""A topic as the config writes it (``[[topics]]``): the validated model and the TOML loader."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from crawler.normalize.text import first_unprintable
from crawler.topics.patterns import compile_pattern
from crawler.topics.terms import parse_term

__all__ = ["DEFAULT_FIELD_WEIGHTS", "FIELDS", "LANGUAGES", "TopicSpec", "load_topic_specs"]

FIELDS: tuple[str, ...] = ("title", "summary", "body", "section", "tags", "url")
"""The article fields a topic is scored on, in evidence order."""

DEFAULT_FIELD_WEIGHTS: dict[str, float] = {
    "title": 3.0,
    "summary": 2.0,
    "body": 1.0,
    "section": 1.5,
    "tags": 1.5,
    "url": 1.0,
}
"""Field weights used for any field a topic does not set: title > summary > body."""

# A term repeated in one field adds this share of its weight per extra occurrence, at most twice:
# a body that says «трамвай» five times is about trams, one passing mention is not.
REPEAT_BONUS = 0.25
REPEAT_CAP = 2
LANGUAGES = frozenset({"ru", "en"})
"""The values of a topic's ``languages``: the first is its feed's language. Terms match by their
script whatever it says (Cyrillic: pymorphy3; Latin: the English Snowball stemmer)."""
#: Where the error for another value sends the reader: terms in other languages still work.
LANGUAGES_HELP = (
    "see `languages` and `include` under [[topics]] in the README's settings: terms in "
    "other languages match as written, or as a prefix such as `Straßenbahn*`"
)

_SLUG = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"


class TopicSpec(BaseModel):
    """One topic, as written in a ``[[topics]]`` table of the config.

    ``include`` maps a term or phrase to its weight (> 0); ``exclude`` maps a false friend to a
    penalty (>= 0): where it occurs, its words do not count as include evidence for this topic
    (elsewhere in the text they still do), and a positive penalty is subtracted per field it
    appears in. ``regexes`` maps a pattern (RE2 syntax, see
    :func:`crawler.topics.patterns.compile_pattern`) to a weight (negative to exclude). A topic's
    score sums ``weight x field weight`` over the fields a term appears in; the topic matches
    when the score reaches ``threshold`` and, for each group of ``requires`` (name -> include
    terms), one of the group's terms is evidence: a road-works story needs a works word *and* a
    road word, so «построят электробусный парк» or «станцию закроют на ремонт» no longer add up
    to a match on works words alone. ``sources``/``cities`` restrict the topic to articles from
    those sources or cities (empty = everywhere).
    """

    # Strict: values keep their TOML type (``stories = "no"`` is not a switch, ``true`` is not a
    # weight); lax mode converted them without a word.
    model_config = ConfigDict(extra="forbid", strict=True)

    id: str = Field(pattern=_SLUG, max_length=64)
    title: str = Field(min_length=1)
    description: str = ""
    languages: list[str] = Field(default_factory=lambda: ["ru"])
    include: dict[str, float] = Field(default_factory=dict)
    exclude: dict[str, float] = Field(default_factory=dict)
    regexes: dict[str, float] = Field(default_factory=dict)
    field_weights: dict[str, float] = Field(default_factory=dict)
    threshold: float = Field(default=2.0, gt=0)
    requires: dict[str, list[str]] = Field(default_factory=dict)
    sources: list[str] = Field(default_factory=list)
    cities: list[str] = Field(default_factory=list)
    # Whether the topic's feed shows one entry per story (see [stories]); false: every article.
    stories: bool = True

    @model_validator(mode="after")
    def _check_entries(self) -> TopicSpec:
        """Check every entry, naming the topic and the entry in the error message."""
        where = f"topic {self.id!r}"
        for name, text in (("title", self.title), ("description", self.description)):
            if first_unprintable(text) is not None:
                # Shown in feeds, the index page and the OPML, which XML cannot always hold.
                raise ValueError(f"{where}: {name} holds a control character: {text!r}")
        for language in self.languages:
            if language not in LANGUAGES:
                raise ValueError(
                    f"{where}: language {language!r} not one of {sorted(LANGUAGES)} "
                    f"({LANGUAGES_HELP})"
                )
        for term, weight in self.include.items():
            _check_term(where, "include", term)
            if not (math.isfinite(weight) and weight > 0):
                raise ValueError(f"{where}: include {term!r} needs a weight > 0, got {weight}")
        for term, penalty in self.exclude.items():
            _check_term(where, "exclude", term)
            if not (math.isfinite(penalty) and penalty >= 0):
                raise ValueError(f"{where}: exclude {term!r} needs a penalty >= 0, got {penalty}")
        for pattern, weight in self.regexes.items():
            try:
                compile_pattern(pattern)
            except ValueError as exc:
                raise ValueError(f"{where}: {exc}") from None
            if not math.isfinite(weight) or weight == 0:
                raise ValueError(f"{where}: regex {pattern!r} needs a non-zero weight")
        if not self.include and not any(w > 0 for w in self.regexes.values()):
            raise ValueError(f"{where}: needs at least one include term or positive regex")
        for group, terms in self.requires.items():
            if not terms:
                raise ValueError(f"{where}: requires group {group!r} is empty")
            for term in terms:
                if term not in self.include:
                    raise ValueError(
                        f"{where}: requires group {group!r}: {term!r} is not an include term"
                    )
        for field, weight in self.field_weights.items():
            if field not in FIELDS:
                raise ValueError(f"{where}: field_weights has unknown field {field!r} ({FIELDS})")
            if not (math.isfinite(weight) and weight >= 0):
                raise ValueError(f"{where}: field weight {field!r} must be >= 0, got {weight}")
        self.field_weights = {
            f: self.field_weights.get(f, DEFAULT_FIELD_WEIGHTS[f]) for f in FIELDS
        }
        return self


def max_score(spec: TopicSpec) -> float:
    """The highest score an article can get for ``spec``: every include term in every field,
    repeated enough for the whole bonus, and every positive regex in every field."""
    fields = sum(spec.field_weights.values())
    terms = sum(spec.include.values()) * (1 + REPEAT_BONUS * REPEAT_CAP)
    return (terms + sum(w for w in spec.regexes.values() if w > 0)) * fields


def _check_term(where: str, kind: str, term: str) -> None:
    try:
        parse_term(term)
    except ValueError as exc:
        raise ValueError(f"{where}: {kind} term {term!r}: {exc}") from None


def load_topic_specs(path: str | Path) -> list[TopicSpec]:
    """Read and validate the ``[[topics]]`` tables of a TOML file."""
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    specs: list[TopicSpec] = []
    for index, entry in enumerate(data.get("topics", [])):
        try:
            specs.append(TopicSpec.model_validate(entry))
        except ValidationError as exc:
            name = entry.get("id", "?") if isinstance(entry, dict) else "?"
            raise ValueError(f"{path}: topics[{index}] ({name!r}): {exc}") from exc
    return specs
