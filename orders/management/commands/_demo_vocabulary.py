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
    # code, kind, value, starts (days ago; negative: in the future), ends (days ago; None: no end),
    # min_subtotal, max_uses, is_active. Together they show every state a coupon can be in.
    ("WELCOME10", "percent", "10.00", 120, None, None, None, True),  # active, no end
    ("BOOKWORM15", "percent", "15.00", 60, None, "50.00", 40, True),  # active, minimum subtotal, limited
    ("READMORE20", "percent", "20.00", 20, -30, "80.00", 25, True),  # active until a date
    ("FIRSTFIVE", "fixed", "5.00", 100, None, None, 5, True),  # used up: the seed gives it all its uses
    ("SPRING5", "fixed", "5.00", 90, 45, "30.00", None, True),  # expired
    ("WINTER3", "fixed", "3.00", 200, 100, None, None, True),  # expired long ago
    ("SUMMER25", "percent", "25.00", -14, -45, "40.00", None, True),  # scheduled: starts in two weeks
    ("STAFFPICK12", "percent", "12.00", 30, None, None, None, False),  # switched off
)
#: The coupon the seed fills to its ``max_uses`` with the oldest orders it can take.
USED_UP_COUPON = "FIRSTFIVE"
