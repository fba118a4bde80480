"""Generators of JSON Schema patterns and strings, shared by tests/test_pattern.py (against
the jsonschema package, which runs Python's re) and tests/interop/test_schema_vs_ajv.py
(against node's ECMA-262 engine and ajv, D-132). Each takes a seeded random.Random.
"""

from mcp_ref import _pattern

# --- Patterns on which ECMA-262 and Python's re agree (test_pattern.py) ------------------------


def _drawn(rng, grammar, depth=0):
    """A pattern drawn from ``grammar`` (RE_COMPATIBLE or ECMA below): up to ``terms`` terms,
    each an anchor, a group of one to three alternatives (nested up to ``deepest``) or an
    atom, perhaps quantified (lazily one time in five); and perhaps, for ECMA, the whole an
    alternative of a further pattern."""
    terms = []
    for _ in range(rng.randint(0, grammar["terms"])):
        roll = rng.random()
        if roll < grammar["anchor"]:
            terms.append(rng.choice(["^", "$"]))
            continue
        if roll < grammar["group"] and depth < grammar["deepest"]:
            atom = rng.choice(["(", "(?:"]) + "|".join(
                _drawn(rng, grammar, depth + 1) for _ in range(rng.randint(1, 3))) + ")"
        else:
            atom = grammar["atom"](rng, roll)
        if rng.random() < grammar["quantified"]:
            atom += rng.choice(grammar["quantifiers"])
            if rng.random() < 0.2:
                atom += "?"                                 # lazy
        terms.append(atom)
    if grammar["alternatives"] and rng.random() < grammar["alternatives"]:
        return "|".join(["".join(terms), _drawn(rng, grammar, depth + 1)])
    return "".join(terms)


#: Atoms on which ECMA-262 and Python's re agree, for strings of ALPHABET (no line
#: terminator, no non-ASCII digit or letter, no space but " " and tab).
RE_COMPATIBLE = {
    "terms": 3, "anchor": 0.08, "group": 0.2, "deepest": 2, "quantified": 0.4,
    "quantifiers": ["*", "+", "?", "{2}", "{1,}", "{0,2}", "{1,3}"], "alternatives": 0,
    "atom": lambda rng, roll: rng.choice([
        "a", "b", "-", "_", "\\.", ".", "\\d", "\\D", "\\w", "\\W", "\\s", "\\S", "[ab]",
        "[^a]", "[a-c]", "[\\d_]", "[\\w-]", "[-b]", "[^\\s]", "\\t", "\\u0061", "\\/",
        "\U0001F600"]),
}


def re_compatible_pattern(rng):
    """A pattern of the subset on which ECMA-262 and Python's re agree, for strings of
    ALPHABET."""
    return _drawn(rng, RE_COMPATIBLE)


ALPHABET = ["a", "b", "c", "-", "_", ".", "1", "9", " ", "\t", "A", "/", "\U0001F600"]


# --- The whole subset, with ECMA-262's meaning (test_schema_vs_ajv.py) ------------------------

#: Atoms of every kind the subset reads (_pattern's docstring): literals (ASCII, non-ASCII,
#: astral, a lone surrogate), ".", the class escapes, the control escapes, \uXXXX (a surrogate
#: pair written as two escapes is one code point; a lone lead surrogate is its own), and each
#: escaped syntax character.
ECMA_ATOMS = (["a", "b", "z", "A", "0", "-", "_", " ", ",", "=", "<", "!", "\u00e9", "\u6f22",
               "\U0001F600", "\U0001F602", "\ud83d", ".", "\\d", "\\D", "\\w", "\\W", "\\s",
               "\\S", "\\t", "\\n", "\\v", "\\f", "\\r", "\\u0061", "\\u00E9", "\\u2028",
               "\\uFEFF", "\\uD83D\\uDE00", "\\ud83d\\ude02", "\\uD83D"]
              + ["\\" + char for char in "^$\\.*+?()[]{}|/"])

#: Members of a class: characters, escapes (\- only in a class), and ranges, some astral.
CLASS_MEMBERS = ["a", "b", "z", "0", "_", ".", "*", "$", "^", "(", "|", "{", "}", "/",
                 "\u00e9", "\U0001F600", "\\d", "\\D", "\\w", "\\W", "\\s", "\\S", "\\n",
                 "\\t", "\\-", "\\]", "\\[", "\\\\", "\\^", "\\u0041", "\\uD83D\\uDE00",
                 "a-c", "0-9", "A-Z", "\\u0000-\\u001F", "\u00e0-\u00ff",
                 "\U0001F600-\U0001F64F", "\\uD83D\\uDE00-\\uD83D\\uDE0F", "\\u2000-\\u200A",
                 " -/", "\\--/"]

QUANTIFIERS = ["*", "+", "?", "{0}", "{1}", "{2}", "{0,}", "{2,}", "{0,1}", "{1,3}", "{2,2}",
               "{03}"]


def ecma_class(rng):
    """A character class: "[", perhaps "^", members, perhaps a "-" first or last, "]"."""
    members = [rng.choice(CLASS_MEMBERS) for _ in range(rng.randint(0, 4))]
    roll = rng.random()
    if roll < 0.1:
        members.insert(0, "-")
    elif roll < 0.2:
        members.append("-")
    return "[" + ("^" if rng.random() < 0.3 else "") + "".join(members) + "]"


#: The whole subset: ECMA_ATOMS, classes, groups, QUANTIFIERS, anchors, alternatives.
ECMA = {
    "terms": 4, "anchor": 0.1, "group": 0.25, "deepest": 3, "quantified": 0.35,
    "quantifiers": QUANTIFIERS, "alternatives": 0.1,
    "atom": lambda rng, roll: ecma_class(rng) if roll < 0.45 else rng.choice(ECMA_ATOMS),
}


def ecma_pattern(rng):
    """A pattern of the subset, drawn from all of it (ECMA)."""
    return _drawn(rng, ECMA)


#: Characters of the strings matched: those the atoms name and their neighbours, every line
#: terminator, spaces ECMA and re disagree on, a non-ASCII digit, astral characters, and lone
#: surrogates.
ECMA_ALPHABET = ["a", "b", "c", "z", "A", "Z", "0", "9", "-", "_", ".", " ", ",", "/", "\\",
                 "[", "]", "^", "$", "*", "(", "{", "|", "\t", "\n", "\r", "\x0b", "\x0c",
                 "\x00", "\x1c", "\x85", "\u00a0", "\u2028", "\u2029", "\u3000", "\ufeff",
                 "\u0663", "\u00e9", "\u6f22", "\U0001F600", "\U0001F602", "\U0001F64F",
                 "\U0001F650", "\U00010000", "\ud83d", "\ude00"]


def ecma_string(rng, longest=8):
    """A string of ECMA_ALPHABET. A lone lead surrogate is never followed by a lone trail
    one: JSON (mcp_ref's input, and the wire to node) would read the two as one code point."""
    chars = []
    for _ in range(rng.randint(0, longest)):
        char = rng.choice(ECMA_ALPHABET)
        if char == "\ude00" and chars and chars[-1] == "\ud83d":
            char = "a"
        chars.append(char)
    return "".join(chars)


#: Each outside the subset: ECMA-262 constructs it leaves out, or patterns ECMA-262's u mode
#: refuses. Each gives no answer (None), never a guess. (Which is which: the interop test
#: asks node, test_schema_vs_ajv.py's OUTSIDE_BY_DESIGN.)
UNSUPPORTED = [
    "(a)\\1", "\\k<n>", "(?=a)", "(?!a)", "(?<=a)", "(?<!a)", "(?<n>a)", "\\b", "\\B",
    "\\p{L}", "\\P{L}", "\\u{61}", "\\ca", "\\0", "\\x41", "\\a", "\\-", "\\e",
    "*a", "+", "?", "a**", "a+*", "a{2}{3}", "^*", "$+", "(*)", "|*", "{", "}", "]", "a{",
    "a{x}", "a{,3}", "a{3,2}", "(", ")", "(a", "a)", "(?:a", "(?", "(?i)a", "[", "[a",
    "[z-a]", "[\\d-z]", "[a-\\d]", "[a-c-e]", "[--a]", "[[]", "\\", "\\u12", "\\u{1F600}",
    "[\\b]", "(" * (_pattern.MAX_NESTING + 1) + ")" * (_pattern.MAX_NESTING + 1),
]


def _a_character(rng, ranges):
    """A code point of ``ranges`` (a set of _pattern's tree): most often one of
    ECMA_ALPHABET, else a range's first or last or one between."""
    inside = [char for char in ECMA_ALPHABET
              if any(first <= ord(char) <= last for first, last in ranges)]
    if inside and rng.random() < 0.7:
        return rng.choice(inside)
    first, last = rng.choice(ranges)
    return chr(rng.choice([first, last, rng.randint(first, last)]))


def _sampled(rng, node):
    kind = node[0]
    if kind == "set":
        return _a_character(rng, node[1]) if node[1] else ""
    if kind == "seq":
        return "".join(_sampled(rng, part) for part in node[1])
    if kind == "alt":
        return _sampled(rng, rng.choice(node[1]))
    if kind == "repeat":
        _, atom, least, most = node
        times = rng.randint(least, least + 3 if most is None else most)
        return "".join(_sampled(rng, atom) for _ in range(times))
    return ""                                           # ^ and $


def sample(rng, source):
    """A string the pattern ``source`` would likely match, made from the tree mcp_ref reads
    (only to aim the strings: the answer is node's), then perhaps changed at either end: a
    character before or after it, a "\\n" after it, one dropped. None when there is none (a
    pattern outside the subset, or a lone lead surrogate followed by a lone trail one)."""
    try:
        text = _sampled(rng, _pattern._Reader(source).pattern())
    except _pattern.Unsupported:
        return None
    change = rng.random()
    if change < 0.15:
        text += "\n"
    elif change < 0.3:
        text = rng.choice(ECMA_ALPHABET) + text
    elif change < 0.45:
        text += rng.choice(ECMA_ALPHABET)
    elif change < 0.55 and text:
        at = rng.randrange(len(text))
        text = text[:at] + text[at + 1:]
    joined = any("\ud800" <= a <= "\udbff" and "\udc00" <= b <= "\udfff"
                 for a, b in zip(text, text[1:]))
    return None if joined else text
