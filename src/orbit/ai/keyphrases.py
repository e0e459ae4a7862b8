"""Deterministic text analysis used by the offline provider.

`key_phrases` is a small RAKE (Rapid Automatic Keyword Extraction) variant:
candidate phrases are runs of words between stop words and punctuation, scored
by word co-occurrence degree over frequency.  `split_items` and `clean_phrase`
turn free-form answers ("users can save recipes, plan meals and ...") into short
feature phrases ("save recipes", "plan meals").
"""

from __future__ import annotations

import re
from collections import Counter

STOP_WORDS = frozenset(
    """
    a about above after again against all almost also am an and any are aren't as at
    be because been before being below between both but by can can't cannot could
    did do does doing don't down during each either else etc even ever every few for
    from further get gets getting go goes going got had has have having he her here
    hers herself him himself his how i i'd i'll i'm i've if in into is isn't it it's
    its itself just kind lot lots me more most much must my myself need needs no nor
    not now of off often on once one only or other our ours ourselves out over own
    per quite rather really same she should so some something such than that that's
    the their theirs them themselves then there these they this those through to too
    under until up upon us very via want wants was we we'd we'll we're were what
    when where which while who whom why will with within without would yes yet you
    your yours yourself able allow allows let lets help helps like make makes way
    ways thing things stuff people basically simply easily easy simple build
    building develop developing launch launching creating
    """.split()  # noqa: SIM905 - long word lists read better as text
)

VERBS = frozenset(
    """
    add analyse analyze approve archive assign book browse build buy calculate cancel
    chat check collect comment compare connect cover create customize define delete
    deliver design discover display download edit enable expose export filter find fix get
    follow generate handle implement import improve index integrate invite join list
    log manage message migrate monitor notify order organise organize pay plan post
    preview print publish rate read record refactor remind remove reply report request
    reserve review save scan schedule search see select sell send set share show sign
    sort start store submit subscribe suggest support sync tag test track update upload use view
    vote write
    """.split()  # noqa: SIM905 - long word lists read better as text
)

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'+#.-]*[A-Za-z0-9+#]|[A-Za-z0-9]")
_CLAUSE_BREAK = re.compile(r"[,;:!?()\[\]\"\n]|\.(?:\s|$)|\s-\s|\s\u2014\s")
_ITEM_BREAK = re.compile(r"[;\n\u2022]|,\s*(?:and\s+|or\s+)?|\s+and\s+|\s+or\s+|\.\s+")
_LEADING_FILLER = re.compile(
    r"^(?:and|also|then|plus|so|i|we|you|they|it|he|she|users?|people|customers?|members?|"
    r"the\s+(?:app|product|system|platform|tool|site|user)|should|must|can|could|would|will|"
    r"need(?:s)?\s+to|want(?:s)?\s+to|(?:be\s+)?able\s+to|to|let(?:s)?\s+(?:them|users?|me|us)|"
    r"allow(?:s)?\s+(?:them|users?|me|us)(?:\s+to)?|a\s+way\s+to|the\s+ability\s+to|"
    r"ability\s+to|i'm|we're|building|build|make|create\s+an?\s+app\s+(?:for|that)|"
    r"an?\s+app\s+that|something\s+that|mainly|probably|maybe|just|really|basically|"
    r"definitely|some|a|an|the|easily|quickly)\b[\s,]*",
    re.IGNORECASE,
)
_TRAILING_FILLER = re.compile(
    r"[\s,]+(?:etc|and so on|and more|too|as well|easily|quickly|please)\.?$", re.IGNORECASE
)


def words(text: str) -> list[str]:
    """Lower-cased words of ``text`` (keeps tokens like ``c++`` or ``node.js``)."""
    return [match.group(0).lower() for match in _WORD.finditer(text)]


def candidate_phrases(text: str) -> list[tuple[str, ...]]:
    """Runs of non-stop words between stop words and punctuation (at most four words)."""
    phrases: list[tuple[str, ...]] = []
    for clause in _CLAUSE_BREAK.split(text):
        run: list[str] = []
        for word in [*words(clause), ""]:
            if word and word not in STOP_WORDS and not word.isdigit():
                run.append(word)
                continue
            if run:
                phrases.append(tuple(run[:4]))
            run = []
    return phrases


def key_phrases(text: str, limit: int = 8) -> list[str]:
    """The most characteristic phrases of ``text``, best first (deterministic)."""
    phrases = candidate_phrases(text)
    frequency: Counter[str] = Counter()
    degree: Counter[str] = Counter()
    for phrase in phrases:
        for word in phrase:
            frequency[word] += 1
            degree[word] += len(phrase)
    scored: dict[str, tuple[float, int]] = {}
    for position, phrase in enumerate(phrases):
        key = " ".join(phrase)
        if key in scored or len(key) < 3:
            continue
        score = sum(degree[word] / frequency[word] for word in phrase)
        scored[key] = (score, -position)
    ranked = sorted(scored, key=lambda key: scored[key], reverse=True)
    return ranked[:limit]


def clean_phrase(text: str, max_words: int = 8) -> str:
    """Strip filler ("users can", "I want to", articles) and cap the length."""
    phrase = " ".join(text.split()).strip(" .,;:!-")
    previous = None
    while phrase and phrase != previous:
        previous = phrase
        phrase = _LEADING_FILLER.sub("", phrase, count=1)
        phrase = _TRAILING_FILLER.sub("", phrase)
    tokens = phrase.split()
    return " ".join(tokens[:max_words]).strip(" .,;:!-")


def split_items(text: str) -> list[str]:
    """Split an enumeration ("a, b and c" or a bullet list) into cleaned items."""
    items: list[str] = []
    for part in _ITEM_BREAK.split(text):
        item = clean_phrase(part.lstrip("-*0123456789. "))
        if len(item) >= 3 and item.lower() not in (i.lower() for i in items):
            items.append(item)
    return items


def first_sentence(text: str, max_chars: int = 240) -> str:
    """The first sentence of ``text``, shortened at a word boundary."""
    flat = " ".join(text.split())
    match = re.search(r"(?<=[.!?])\s", flat)
    sentence = flat[: match.start()] if match else flat
    if len(sentence) <= max_chars:
        return sentence
    return sentence[:max_chars].rsplit(" ", 1)[0].rstrip(",;:") + "..."


def base_verb(word: str, suffixes: tuple[str, ...] = ("ing",)) -> str | None:
    """The base form of a known verb, also from the given inflections.

    ``base_verb("sharing") == "share"``; with ``suffixes=("ing", "ed", "es", "s")``
    also ``"added" -> "add"`` and ``"fixes" -> "fix"``.
    """
    word = word.lower()
    if word in VERBS:
        return word
    for suffix in suffixes:
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            stem = word[: -len(suffix)]
            for candidate in (stem, stem + "e", stem[:-1]):
                if candidate in VERBS:
                    return candidate
    return None


def starts_with_verb(phrase: str) -> bool:
    """Whether ``phrase`` starts with a common action verb ("save recipes")."""
    return bool(phrase) and base_verb(phrase.split(" ", 1)[0]) is not None


def as_action(phrase: str) -> str:
    """Turn a leading gerund into the base form: "sharing recipes" -> "share recipes"."""
    head, _, rest = phrase.partition(" ")
    verb = base_verb(head)
    if verb is None or not rest:
        return phrase
    return f"{verb} {rest}"


def object_of(phrase: str) -> str:
    """The thing a feature acts on: "plan meals for the week" -> "meals".

    Generic technical objects are skipped: "design the data model for recipes"
    -> "recipes".
    """
    tokens = phrase.replace('"', "").split()
    for _ in range(2):  # "cover save recipes ..." -> "recipes ..."
        if len(tokens) > 1 and starts_with_verb(" ".join(tokens)):
            tokens = tokens[1:]
    kept: list[str] = []
    for index, token in enumerate(tokens):
        if token.lower() in _PREPOSITIONS:
            rest = " ".join(tokens[index + 1 :])
            if set(kept) <= _GENERIC_OBJECTS and rest:
                return object_of(rest)
            break
        if token.lower() not in {"a", "an", "the", "my", "their", "our", "your"}:
            kept.append(token.lower())
    return " ".join(kept[:3]) or phrase


_PREPOSITIONS = frozenset({"for", "with", "to", "from", "by", "in", "on", "at", "of", "into"})
_GENERIC_OBJECTS = frozenset(
    {"data", "model", "api", "user", "interface", "ui", "endpoint", "endpoints", "screen"}
    | {"screens", "tests", "end-to-end", "unit", "integration", "external", "service"}
)


def slug(text: str, separator: str = "_", max_words: int = 4) -> str:
    """An identifier made of the first meaningful words: "Save recipes" -> "save_recipes"."""
    tokens = [w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in STOP_WORDS]
    return separator.join(tokens[:max_words]) or "item"


def singular(word: str) -> str:
    """A naive singular: "cooks" -> "cook", "businesses" -> "business", "stories" -> "story"."""
    lowered = word.lower()
    if lowered.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if lowered.endswith(("sses", "shes", "ches", "xes")):
        return word[:-2]
    if lowered.endswith("s") and not lowered.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def capitalize(text: str) -> str:
    """Upper-case the first character only (keeps acronyms such as "API")."""
    return text[:1].upper() + text[1:] if text else text
