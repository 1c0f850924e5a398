"""HostIndex (one vectorised pass per glob) gives the rows fnmatch gives, row by row, on random names."""

import fnmatch
import random

import pyarrow as pa

from sekimori.graph.edges import HostIndex

LABELS = ["orn-jump-01.corp.example", "ORN-JUMP-02", "db1.hr.example", "10.0.0.5", "a_b%c.x", None]
GLOBS = [
    "orn-jump-01",
    "orn-jump-0?",
    "ORN-*",
    "*.example",
    "db1",
    "10.0.0.5",
    "a_b%c*",
    "[od]*",
    "*-02.corp",
]


def brute(labels, keys, glob):
    """Per row: the names a host goes by (as logged, short, 15-character NetBIOS), matched by fnmatch
    against the glob and, for a literal name, its short and NetBIOS forms: written here from the docs of
    model.keys, not from its code."""
    pattern = glob.lower().rstrip(".")
    forms = {pattern}
    literal = not any(c in pattern for c in "*?[") and not pattern.replace(".", "").isdigit()
    if literal:
        forms |= {pattern.split(".")[0], pattern.split(".")[0][:15]}
    out = []
    for lab, key in zip(labels, keys, strict=True):
        names = set()
        for text in (lab, key):
            if text:
                t = text.lower()
                names.add(t)
                if not t.replace(".", "").isdigit():
                    names |= {t.split(".")[0], t.split(".")[0][:15]}
        out.append(any(fnmatch.fnmatchcase(n, f) for n in names for f in forms))
    return out


def test_host_index_matches_row_by_row_brute_force():
    rng = random.Random(11)
    for _ in range(30):
        labels = [rng.choice(LABELS) for _ in range(rng.randrange(1, 12))]
        keys = [
            (lab or "x").lower().split(".")[0] if not (lab or "").replace(".", "").isdigit() else lab
            for lab in labels
        ]
        index = HostIndex(pa.table({"host": keys, "label": labels}))
        for glob in GLOBS:
            assert index.match(glob).tolist() == brute(labels, keys, glob), (labels, glob)


def test_a_literal_fqdn_matches_the_short_name_and_the_reverse():
    index = HostIndex(
        pa.table({"host": ["orn-jump-01", "web"], "label": ["ORN-JUMP-01", "web.corp.example"]})
    )
    assert index.match("orn-jump-01.corp.example").tolist() == [True, False]
    assert index.match("web").tolist() == [False, True]
    assert index.match("web.other.example").tolist() == [False, True]  # the short names are one host


def test_matching_rows_are_the_brute_force_rows_and_literals_keep_no_mask():
    rng = random.Random(12)
    for _ in range(30):
        labels = [rng.choice(LABELS) for _ in range(rng.randrange(1, 12))]
        keys = [
            (lab or "x").lower().split(".")[0] if not (lab or "").replace(".", "").isdigit() else lab
            for lab in labels
        ]
        index = HostIndex(pa.table({"host": keys, "label": labels}))
        for glob in GLOBS:
            expected = [i for i, hit in enumerate(brute(labels, keys, glob)) if hit]
            assert index.matching_rows(glob).tolist() == expected, (labels, glob)
            assert index.match(glob).tolist() == brute(labels, keys, glob), (labels, glob)
        # A mask per literal name grew as hosts x hosts (one gate per granted host): only patterns are kept.
        assert sorted(index._cache) == sorted(g for g in GLOBS if any(c in g for c in "*?["))
