"""Demo book titles read like a person wrote them: a/an, plurals, and no country names."""

from __future__ import annotations

import itertools
import random
import re
from collections import Counter

import pytest
from faker import Faker
from faker.providers.address.en_US import Provider as AddressProvider

from orders.management.commands._demo_titles import TitleMaker, article, plural, without_countries
from orders.management.commands._demo_vocabulary import ADJECTIVES, NOUNS

COUNTRIES = set(AddressProvider.countries)
# Common words where spelling and sound disagree, written out here rather than taken from the code.
VOWEL_SOUND = re.compile(r"^(?:[aio]|e(?!u)|u(?!ni|s[eu]|to)|hour|honest|heir)", re.IGNORECASE)
BAD_PLURAL = re.compile(r"(?:[^aeiou]ys|xs|ss|chs|shs|zs|[^aeiou]fs|fes)$", re.IGNORECASE)
SAMPLE = 30_000


def _titles(seed: int, count: int = SAMPLE) -> list[str]:
    fake = Faker("en_US")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    places = without_countries(fake.city() for _ in range(150))
    firsts = without_countries(fake.first_name() for _ in range(150))
    maker = TitleMaker(rng, places, firsts)
    return [maker.title() for _ in range(count)]


@pytest.fixture(scope="module")
def titles() -> list[str]:
    return _titles(2026) + _titles(7, 10_000)


def test_a_and_an_follow_the_sound_of_the_next_word(titles):
    checked = Counter()
    for title in titles:
        words = title.split()
        for word, following in itertools.pairwise(words):
            if word in {"A", "a"}:
                assert not VOWEL_SOUND.match(following), title
                checked["a"] += 1
            elif word in {"An", "an"}:
                assert VOWEL_SOUND.match(following), title
                checked["an"] += 1
    assert checked["a"] > 100
    assert checked["an"] > 100


def test_the_known_bad_titles_are_gone(titles):
    text = "\n".join(titles)
    for bad in ("A Archive", "A Ocean", "A Island", "A Empire", "A Orchard", "Foxs", "Librarys", "Wolfs", "Compasss"):
        assert bad not in text
    for good in ("An Archive for", "An Ocean for", "Foxes", "Libraries", "Wolves", "Compasses", "Memories", "Skies"):
        assert good in text, good


def test_plurals_are_spelled_right(titles):
    vocabulary = set(ADJECTIVES) | set(NOUNS)
    plurals = {
        word
        for title in titles
        for word in re.findall(r"[A-Za-z]+", title)
        if word not in vocabulary and word.lower() in {plural(noun).lower() for noun in NOUNS}
    }
    assert len(plurals) > 30
    assert not [word for word in plurals if BAD_PLURAL.search(word)]


@pytest.mark.parametrize(
    ("noun", "expected"),
    [
        ("Fox", "Foxes"),
        ("Library", "Libraries"),
        ("Wolf", "Wolves"),
        ("Compass", "Compasses"),
        ("Day", "Days"),
        ("Church", "Churches"),
        ("Child", "Children"),
        ("Mouse", "Mice"),
        ("Knife", "Knives"),
        ("Roof", "Roofs"),
        ("Sheep", "Sheep"),
        ("River", "Rivers"),
    ],
)
def test_plural(noun, expected):
    assert plural(noun) == expected


@pytest.mark.parametrize(
    ("word", "expected"),
    [("Archive", "An"), ("Island", "An"), ("River", "A"), ("Unicorn", "A"), ("Hour", "An"), ("Umbrella", "An")],
)
def test_article(word, expected):
    assert article(word) == expected


def test_no_title_names_a_country(titles):
    pattern = re.compile(r"\b(?:" + "|".join(re.escape(name) for name in COUNTRIES) + r")\b")
    offenders = [title for title in titles if pattern.search(title)]
    assert offenders == []


def test_no_noun_stands_next_to_itself(titles):
    for title in titles:
        words = title.split()
        assert all(first != second for first, second in itertools.pairwise(words)), title
        assert not re.fullmatch(r"(\w+) and \1", title), title
