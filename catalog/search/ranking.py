"""How search results are ordered, the same on both databases.

search_rank = 16 if the book matches the query as typed (only when a typo-corrected query also runs)
            + 8 if a phrase of the query (two words or more) is in the title or subtitle
            + 4 if a query word (or phrase) is in the title or subtitle
            + 2 if one is in a contributor's name
            + 1 with ``prefer_in_stock`` when the book is in stock
            + the database's relevance score squeezed into [0, 1)
so exact > corrected, phrase in title > title > contributors > the rest (description, publisher,
series, genres), and in stock > not within a tier: the tiers never overlap. Ties go to the book that
sold more in the last 90 days (``Book.recent_sales``), then to the title and the id.
"""

from __future__ import annotations

EXACT_TIER = 16
TITLE_PHRASE_TIER = 8
TITLE_TIER = 4
AUTHORS_TIER = 2
IN_STOCK_BOOST = 1

#: The order of ranked results after ``search_rank``.
ORDERING = ("-search_rank", "-recent_sales", "title", "id")
