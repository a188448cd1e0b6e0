"""ISO 639-1 language codes: the ``language`` of a book."""

from django.db import models


class Language(models.TextChoices):
    """Every two-letter code of ISO 639-1 (184 languages), labelled in English."""

    AA = "aa", "Afar"
    AB = "ab", "Abkhazian"
    AE = "ae", "Avestan"
    AF = "af", "Afrikaans"
    AK = "ak", "Akan"
    AM = "am", "Amharic"
    AN = "an", "Aragonese"
    AR = "ar", "Arabic"
    AS = "as", "Assamese"
    AV = "av", "Avaric"
    AY = "ay", "Aymara"
    AZ = "az", "Azerbaijani"
    BA = "ba", "Bashkir"
    BE = "be", "Belarusian"
    BG = "bg", "Bulgarian"
    BH = "bh", "Bihari languages"
    BI = "bi", "Bislama"
    BM = "bm", "Bambara"
    BN = "bn", "Bengali"
    BO = "bo", "Tibetan"
    BR = "br", "Breton"
    BS = "bs", "Bosnian"
    CA = "ca", "Catalan"
    CE = "ce", "Chechen"
    CH = "ch", "Chamorro"
    CO = "co", "Corsican"
    CR = "cr", "Cree"
    CS = "cs", "Czech"
    CU = "cu", "Church Slavic"
    CV = "cv", "Chuvash"
    CY = "cy", "Welsh"
    DA = "da", "Danish"
    DE = "de", "German"
    DV = "dv", "Divehi"
    DZ = "dz", "Dzongkha"
    EE = "ee", "Ewe"
    EL = "el", "Greek"
    EN = "en", "English"
    EO = "eo", "Esperanto"
    ES = "es", "Spanish"
    ET = "et", "Estonian"
    EU = "eu", "Basque"
    FA = "fa", "Persian"
    FF = "ff", "Fulah"
    FI = "fi", "Finnish"
    FJ = "fj", "Fijian"
    FO = "fo", "Faroese"
    FR = "fr", "French"
    FY = "fy", "Western Frisian"
    GA = "ga", "Irish"
    GD = "gd", "Gaelic"
    GL = "gl", "Galician"
    GN = "gn", "Guarani"
    GU = "gu", "Gujarati"
    GV = "gv", "Manx"
    HA = "ha", "Hausa"
    HE = "he", "Hebrew"
    HI = "hi", "Hindi"
    HO = "ho", "Hiri Motu"
    HR = "hr", "Croatian"
    HT = "ht", "Haitian"
    HU = "hu", "Hungarian"
    HY = "hy", "Armenian"
    HZ = "hz", "Herero"
    IA = "ia", "Interlingua"
    ID = "id", "Indonesian"
    IE = "ie", "Interlingue"
    IG = "ig", "Igbo"
    II = "ii", "Sichuan Yi"
    IK = "ik", "Inupiaq"
    IO = "io", "Ido"
    IS = "is", "Icelandic"
    IT = "it", "Italian"
    IU = "iu", "Inuktitut"
    JA = "ja", "Japanese"
    JV = "jv", "Javanese"
    KA = "ka", "Georgian"
    KG = "kg", "Kongo"
    KI = "ki", "Kikuyu"
    KJ = "kj", "Kuanyama"
    KK = "kk", "Kazakh"
    KL = "kl", "Kalaallisut"
    KM = "km", "Central Khmer"
    KN = "kn", "Kannada"
    KO = "ko", "Korean"
    KR = "kr", "Kanuri"
    KS = "ks", "Kashmiri"
    KU = "ku", "Kurdish"
    KV = "kv", "Komi"
    KW = "kw", "Cornish"
    KY = "ky", "Kirghiz"
    LA = "la", "Latin"
    LB = "lb", "Luxembourgish"
    LG = "lg", "Ganda"
    LI = "li", "Limburgan"
    LN = "ln", "Lingala"
    LO = "lo", "Lao"
    LT = "lt", "Lithuanian"
    LU = "lu", "Luba-Katanga"
    LV = "lv", "Latvian"
    MG = "mg", "Malagasy"
    MH = "mh", "Marshallese"
    MI = "mi", "Maori"
    MK = "mk", "Macedonian"
    ML = "ml", "Malayalam"
    MN = "mn", "Mongolian"
    MR = "mr", "Marathi"
    MS = "ms", "Malay"
    MT = "mt", "Maltese"
    MY = "my", "Burmese"
    NA = "na", "Nauru"
    NB = "nb", "Norwegian Bokmål"
    ND = "nd", "North Ndebele"
    NE = "ne", "Nepali"
    NG = "ng", "Ndonga"
    NL = "nl", "Dutch"
    NN = "nn", "Norwegian Nynorsk"
    NO = "no", "Norwegian"
    NR = "nr", "South Ndebele"
    NV = "nv", "Navajo"
    NY = "ny", "Chichewa"
    OC = "oc", "Occitan"
    OJ = "oj", "Ojibwa"
    OM = "om", "Oromo"
    OR = "or", "Oriya"
    OS = "os", "Ossetian"
    PA = "pa", "Panjabi"
    PI = "pi", "Pali"
    PL = "pl", "Polish"
    PS = "ps", "Pushto"
    PT = "pt", "Portuguese"
    QU = "qu", "Quechua"
    RM = "rm", "Romansh"
    RN = "rn", "Rundi"
    RO = "ro", "Romanian"
    RU = "ru", "Russian"
    RW = "rw", "Kinyarwanda"
    SA = "sa", "Sanskrit"
    SC = "sc", "Sardinian"
    SD = "sd", "Sindhi"
    SE = "se", "Northern Sami"
    SG = "sg", "Sango"
    SI = "si", "Sinhala"
    SK = "sk", "Slovak"
    SL = "sl", "Slovenian"
    SM = "sm", "Samoan"
    SN = "sn", "Shona"
    SO = "so", "Somali"
    SQ = "sq", "Albanian"
    SR = "sr", "Serbian"
    SS = "ss", "Swati"
    ST = "st", "Southern Sotho"
    SU = "su", "Sundanese"
    SV = "sv", "Swedish"
    SW = "sw", "Swahili"
    TA = "ta", "Tamil"
    TE = "te", "Telugu"
    TG = "tg", "Tajik"
    TH = "th", "Thai"
    TI = "ti", "Tigrinya"
    TK = "tk", "Turkmen"
    TL = "tl", "Tagalog"
    TN = "tn", "Tswana"
    TO = "to", "Tonga"
    TR = "tr", "Turkish"
    TS = "ts", "Tsonga"
    TT = "tt", "Tatar"
    TW = "tw", "Twi"
    TY = "ty", "Tahitian"
    UG = "ug", "Uighur"
    UK = "uk", "Ukrainian"
    UR = "ur", "Urdu"
    UZ = "uz", "Uzbek"
    VE = "ve", "Venda"
    VI = "vi", "Vietnamese"
    VO = "vo", "Volapük"
    WA = "wa", "Walloon"
    WO = "wo", "Wolof"
    XH = "xh", "Xhosa"
    YI = "yi", "Yiddish"
    YO = "yo", "Yoruba"
    ZA = "za", "Zhuang"
    ZH = "zh", "Chinese"
    ZU = "zu", "Zulu"


# ISO 639-2 three-letter codes of the languages above (ONIX code list 74 uses them).
# The bibliographic (B) code, and after a slash the terminological (T) code where the two differ.
_ISO_639_2 = [
    "aa",
    "aar",
    "ab",
    "abk",
    "ae",
    "ave",
    "af",
    "afr",
    "ak",
    "aka",
    "am",
    "amh",
    "an",
    "arg",
    "ar",
    "ara",
    "as",
    "asm",
    "av",
    "ava",
    "ay",
    "aym",
    "az",
    "aze",
    "ba",
    "bak",
    "be",
    "bel",
    "bg",
    "bul",
    "bh",
    "bih",
    "bi",
    "bis",
    "bm",
    "bam",
    "bn",
    "ben",
    "bo",
    "tib/bod",
    "br",
    "bre",
    "bs",
    "bos",
    "ca",
    "cat",
    "ce",
    "che",
    "ch",
    "cha",
    "co",
    "cos",
    "cr",
    "cre",
    "cs",
    "cze/ces",
    "cu",
    "chu",
    "cv",
    "chv",
    "cy",
    "wel/cym",
    "da",
    "dan",
    "de",
    "ger/deu",
    "dv",
    "div",
    "dz",
    "dzo",
    "ee",
    "ewe",
    "el",
    "gre/ell",
    "en",
    "eng",
    "eo",
    "epo",
    "es",
    "spa",
    "et",
    "est",
    "eu",
    "baq/eus",
    "fa",
    "per/fas",
    "ff",
    "ful",
    "fi",
    "fin",
    "fj",
    "fij",
    "fo",
    "fao",
    "fr",
    "fre/fra",
    "fy",
    "fry",
    "ga",
    "gle",
    "gd",
    "gla",
    "gl",
    "glg",
    "gn",
    "grn",
    "gu",
    "guj",
    "gv",
    "glv",
    "ha",
    "hau",
    "he",
    "heb",
    "hi",
    "hin",
    "ho",
    "hmo",
    "hr",
    "hrv",
    "ht",
    "hat",
    "hu",
    "hun",
    "hy",
    "arm/hye",
    "hz",
    "her",
    "ia",
    "ina",
    "id",
    "ind",
    "ie",
    "ile",
    "ig",
    "ibo",
    "ii",
    "iii",
    "ik",
    "ipk",
    "io",
    "ido",
    "is",
    "ice/isl",
    "it",
    "ita",
    "iu",
    "iku",
    "ja",
    "jpn",
    "jv",
    "jav",
    "ka",
    "geo/kat",
    "kg",
    "kon",
    "ki",
    "kik",
    "kj",
    "kua",
    "kk",
    "kaz",
    "kl",
    "kal",
    "km",
    "khm",
    "kn",
    "kan",
    "ko",
    "kor",
    "kr",
    "kau",
    "ks",
    "kas",
    "ku",
    "kur",
    "kv",
    "kom",
    "kw",
    "cor",
    "ky",
    "kir",
    "la",
    "lat",
    "lb",
    "ltz",
    "lg",
    "lug",
    "li",
    "lim",
    "ln",
    "lin",
    "lo",
    "lao",
    "lt",
    "lit",
    "lu",
    "lub",
    "lv",
    "lav",
    "mg",
    "mlg",
    "mh",
    "mah",
    "mi",
    "mao/mri",
    "mk",
    "mac/mkd",
    "ml",
    "mal",
    "mn",
    "mon",
    "mr",
    "mar",
    "ms",
    "may/msa",
    "mt",
    "mlt",
    "my",
    "bur/mya",
    "na",
    "nau",
    "nb",
    "nob",
    "nd",
    "nde",
    "ne",
    "nep",
    "ng",
    "ndo",
    "nl",
    "dut/nld",
    "nn",
    "nno",
    "no",
    "nor",
    "nr",
    "nbl",
    "nv",
    "nav",
    "ny",
    "nya",
    "oc",
    "oci",
    "oj",
    "oji",
    "om",
    "orm",
    "or",
    "ori",
    "os",
    "oss",
    "pa",
    "pan",
    "pi",
    "pli",
    "pl",
    "pol",
    "ps",
    "pus",
    "pt",
    "por",
    "qu",
    "que",
    "rm",
    "roh",
    "rn",
    "run",
    "ro",
    "rum/ron",
    "ru",
    "rus",
    "rw",
    "kin",
    "sa",
    "san",
    "sc",
    "srd",
    "sd",
    "snd",
    "se",
    "sme",
    "sg",
    "sag",
    "si",
    "sin",
    "sk",
    "slo/slk",
    "sl",
    "slv",
    "sm",
    "smo",
    "sn",
    "sna",
    "so",
    "som",
    "sq",
    "alb/sqi",
    "sr",
    "srp",
    "ss",
    "ssw",
    "st",
    "sot",
    "su",
    "sun",
    "sv",
    "swe",
    "sw",
    "swa",
    "ta",
    "tam",
    "te",
    "tel",
    "tg",
    "tgk",
    "th",
    "tha",
    "ti",
    "tir",
    "tk",
    "tuk",
    "tl",
    "tgl",
    "tn",
    "tsn",
    "to",
    "ton",
    "tr",
    "tur",
    "ts",
    "tso",
    "tt",
    "tat",
    "tw",
    "twi",
    "ty",
    "tah",
    "ug",
    "uig",
    "uk",
    "ukr",
    "ur",
    "urd",
    "uz",
    "uzb",
    "ve",
    "ven",
    "vi",
    "vie",
    "vo",
    "vol",
    "wa",
    "wln",
    "wo",
    "wol",
    "xh",
    "xho",
    "yi",
    "yid",
    "yo",
    "yor",
    "za",
    "zha",
    "zh",
    "chi/zho",
    "zu",
    "zul",
]

#: ISO 639-2 code (bibliographic or terminological) → the store's ISO 639-1 code, for every store language.
LANGUAGE_BY_ISO_639_2: dict[str, str] = {
    code: two for two, codes in zip(_ISO_639_2[::2], _ISO_639_2[1::2], strict=True) for code in codes.split("/")
}
