"""Book titles for the demo store that read like a person wrote them.

English needs two small rules here: "a" or "an" by the sound of the next word,
and plurals (regular, -es, -ies, -ves and the irregular ones). Places are towns,
never countries, and no name in a title is a country's.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence

from faker.providers.address.en_US import Provider as _AddressProvider

from orders.management.commands._demo_vocabulary import ADJECTIVES, NOUNS

#: Every country name Faker knows: none of them may appear in a demo title.
COUNTRIES: frozenset[str] = frozenset(_AddressProvider.countries)
_COUNTRY_WORDS = re.compile(r"\b(?:" + "|".join(re.escape(name) for name in sorted(COUNTRIES, key=len)[::-1]) + r")\b")

#: Plurals that the regular rules get wrong.
IRREGULAR_PLURALS = {
    "child": "children",
    "foot": "feet",
    "goose": "geese",
    "knife": "knives",
    "leaf": "leaves",
    "life": "lives",
    "man": "men",
    "mouse": "mice",
    "person": "people",
    "roof": "roofs",
    "thief": "thieves",
    "tooth": "teeth",
    "wife": "wives",
    "wolf": "wolves",
    "woman": "women",
    "half": "halves",
    "shelf": "shelves",
    "self": "selves",
    "sheep": "sheep",
    "deer": "deer",
    "fish": "fish",
}
#: Words that start with a vowel letter but a consonant sound ("a unicorn"), and the reverse ("an hour").
_A_BEFORE = ("uni", "use", "usu", "uto", "eu", "one", "once")
_AN_BEFORE = ("hour", "honest", "honou", "heir")


def plural(noun: str) -> str:
    """``Fox`` → ``Foxes``, ``Library`` → ``Libraries``, ``Wolf`` → ``Wolves``; keeps the capital."""
    lower = noun.lower()
    if lower in IRREGULAR_PLURALS:
        result = IRREGULAR_PLURALS[lower]
    elif lower.endswith(("s", "x", "z", "ch", "sh")):
        result = lower + "es"
    elif lower.endswith("y") and lower[-2:-1] not in tuple("aeiou"):
        result = lower[:-1] + "ies"
    else:
        result = lower + "s"
    return result.capitalize() if noun[:1].isupper() else result


def article(word: str) -> str:
    """``A`` or ``An`` for the word that follows, by its sound in the common cases."""
    lower = word.lower()
    if lower.startswith(_AN_BEFORE):
        return "An"
    if lower.startswith(_A_BEFORE):
        return "A"
    return "An" if lower[:1] in "aeiou" else "A"


def names_a_country(text: str) -> bool:
    return _COUNTRY_WORDS.search(text) is not None


def without_countries(names: Iterable[str]) -> list[str]:
    """Names (towns, first names) that neither are nor contain a country's name ("Jordan", "Chad")."""
    return list(dict.fromkeys(name for name in names if not names_a_country(name)))


class TitleMaker:
    """Draws titles from ``rng``; ``places`` and ``firsts`` must already be free of country names."""

    def __init__(self, rng: random.Random, places: Sequence[str], firsts: Sequence[str]) -> None:
        self.rng = rng
        self.places = places
        self.firsts = firsts
        self.plurals = {noun: plural(noun) for noun in NOUNS}
        self.articles = {noun: article(noun) for noun in NOUNS}

    def _noun_and_other(self) -> tuple[str, str]:
        noun, other = self.rng.sample(NOUNS, 2)
        return noun, other

    def _adjective_for(self, noun: str) -> str:
        adjective = self.rng.choice(ADJECTIVES)
        while adjective == noun:  # "Winter" and "Secret" are on both lists: no "The Winter Winter"
            adjective = self.rng.choice(ADJECTIVES)
        return adjective

    def title(self) -> str:
        rng = self.rng
        noun, other = self._noun_and_other()
        adjective = self._adjective_for(noun)
        pattern = rng.randrange(11)
        if pattern == 0:
            return f"The {adjective} {noun}"
        if pattern == 1:
            return f"The {noun} of {rng.choice(self.places)}"
        if pattern == 2:
            return f"{noun} and {other}"
        if pattern == 3:
            return f"{rng.choice(self.firsts)}'s {noun}"
        if pattern == 4:
            return f"The Last {noun}"
        if pattern == 5:
            return f"{adjective} {self.plurals[noun]}"
        if pattern == 6:
            return f"Beyond the {adjective} {noun}"
        if pattern == 7:
            return f"The {noun} in the {other}"
        if pattern == 8:
            return f"{self.articles[noun]} {noun} for {rng.choice(self.firsts)}"
        if pattern == 9:
            return f"Notes on the {self.plurals[noun] if rng.random() < 0.5 else noun}"
        return f"{adjective} {rng.choice(self.places)}"
