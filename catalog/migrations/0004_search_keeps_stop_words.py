"""PostgreSQL's search index keeps stop words, so phrases keep their word positions.

The ``english`` configuration drops stop words: ``"a bridge for"`` became the
single word ``bridge``. ``bookstore_english`` is a copy of it whose words go
through the same Snowball stemmer, without a stop-word list; the index is
rebuilt with it. SQLite's FTS5 index already holds every word. Queries still
drop a lone stop word (catalog.search), so only phrases see the difference.
"""

from django.db import migrations

WORD_TOKENS = "asciiword, asciihword, hword_asciipart, word, hword, hword_part"

DOCUMENTS = """
    INSERT INTO book_search (book_id, document)
    SELECT b.id,
           setweight(to_tsvector('{config}'::regconfig, unaccent(b.title || ' ' || b.subtitle)), 'A')
        || setweight(to_tsvector('{config}'::regconfig, unaccent(coalesce(a.names, ''))), 'B')
        || setweight(to_tsvector('{config}'::regconfig, unaccent(b.description || ' ' || b.publisher)), 'C')
    FROM books b
    LEFT JOIN (
        SELECT ba.book_id, string_agg(au.name, ' ' ORDER BY ba.position, ba.id) AS names
        FROM book_authors ba JOIN authors au ON au.id = ba.author_id
        GROUP BY ba.book_id
    ) a ON a.book_id = b.id
"""

FORWARDS = [
    "DROP TEXT SEARCH CONFIGURATION IF EXISTS bookstore_english",
    "DROP TEXT SEARCH DICTIONARY IF EXISTS bookstore_english_stem",
    "CREATE TEXT SEARCH DICTIONARY bookstore_english_stem (TEMPLATE = snowball, LANGUAGE = english)",
    "CREATE TEXT SEARCH CONFIGURATION bookstore_english (COPY = english)",
    f"ALTER TEXT SEARCH CONFIGURATION bookstore_english ALTER MAPPING FOR {WORD_TOKENS} WITH bookstore_english_stem",
    "TRUNCATE book_search",
    DOCUMENTS.format(config="bookstore_english"),
]
BACKWARDS = [
    "TRUNCATE book_search",
    DOCUMENTS.format(config="english"),
    "DROP TEXT SEARCH CONFIGURATION IF EXISTS bookstore_english",
    "DROP TEXT SEARCH DICTIONARY IF EXISTS bookstore_english_stem",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for sql in statements:
                schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0003_search_index"),
    ]

    operations = [
        migrations.RunPython(_run(FORWARDS), _run(BACKWARDS)),
    ]
