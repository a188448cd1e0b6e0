"""Word lists and fixed records the demo store is drawn from."""

GENRES = (
    ("Fiction", "fiction"),
    ("Science fiction", "science-fiction"),
    ("Fantasy", "fantasy"),
    ("Mystery", "mystery"),
    ("Thriller", "thriller"),
    ("Romance", "romance"),
    ("Historical fiction", "historical-fiction"),
    ("Horror", "horror"),
    ("Poetry", "poetry"),
    ("Biography", "biography"),
    ("History", "history"),
    ("Science", "science"),
    ("Philosophy", "philosophy"),
    ("Travel", "travel"),
    ("Cooking", "cooking"),
    ("Business", "business"),
    ("Self-help", "self-help"),
    ("Children's books", "childrens-books"),
    ("Young adult", "young-adult"),
    ("Graphic novels", "graphic-novels"),
    ("Art and photography", "art-photography"),
    ("Computing", "computing"),
)
_ADJECTIVES_TEXT = (
    "Silent Hidden Last Broken Golden Forgotten Burning Crimson Distant Endless Frozen Quiet Wild Secret "
    "Lost Midnight Silver Dark Bright Hollow Little Ancient Shattered Restless Invisible Scarlet Winter "
    "Summer Final Strange Gentle Iron Glass Paper Falling Rising Wandering Sleeping Untold Impossible"
)
ADJECTIVES = _ADJECTIVES_TEXT.split()
_NOUNS_TEXT = (
    "River Garden House Ocean Mountain Kingdom Shadow Letter Island Library Forest City Road Storm Sky "
    "Star Clock Mirror Door Bridge Harbor Empire Promise Secret Journey Memory Dream Song Fire Winter "
    "Summer Light Stone Voyage Orchard Lantern Compass Map Machine Crown Sea Station Archive Tide Wolf "
    "Fox Raven Heart Silence"
)
NOUNS = _NOUNS_TEXT.split()
SUBTITLES = (
    "A Novel",
    "A Memoir",
    "Stories",
    "A Thriller",
    "Poems",
    "A History of {place}",
    "Notes from {place}",
    "The {adj} Years",
    "A Journey Through {place}",
    "Book {n} of the {noun} Cycle",
)
LANGUAGES = ("en",) * 16 + ("es", "es", "fr", "fr", "de", "de", "it", "pt", "nl", "ja")
COUPONS = (
    # code, kind, value, starts (days ago), ends (days ago; None: no end), min_subtotal, max_uses
    ("WELCOME10", "percent", "10.00", 120, None, None, None),
    ("SPRING5", "fixed", "5.00", 90, 45, "30.00", None),
    ("BOOKWORM15", "percent", "15.00", 60, None, "50.00", 40),
    ("READMORE20", "percent", "20.00", 20, -30, "80.00", 25),
    ("EXPIRED3", "fixed", "3.00", 200, 100, None, None),
)
