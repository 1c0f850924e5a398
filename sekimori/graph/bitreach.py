"""What stays reached when each candidate control alone is removed, for every candidate at once.

Rows are implications ``dst >= src1 [AND src2] unless any of xs`` (see :mod:`sekimori.graph.cut`), the
constant node ``one`` held from the start. Each candidate is one bit of a bitset per node: the bit of
``c`` set on a node means "reached when ``c`` is removed". Every bit is an independent monotone system,
so propagating the bitsets to their least fixed point (a row passes ``src1 & src2`` minus the bits of
its own controls) answers all candidates in one pass over the rows, where one search per candidate went
over them all once per candidate (117 searches of 1.4 million rows at twice the benchmark's group).
"""

from __future__ import annotations

import numpy as np

# Candidates per pass: the bitsets of a pass are (nodes x WORDS) 64-bit words.
_WORDS = 16


def reached_without_each(
    one: int,
    dst: np.ndarray,
    src1: np.ndarray,
    src2: np.ndarray,
    xs: np.ndarray,
    candidates: int,
    nodes: np.ndarray,
    sets: list[tuple[int, ...]] | None = None,
) -> np.ndarray:
    """(candidates x len(nodes)) bool: ``nodes[j]`` is reached from ``one`` when candidate ``i`` alone is
    removed (or, given ``sets``, (sets x nodes) when the candidates of set ``i`` are). ``xs`` (rows x k)
    holds each row's candidate controls, -1 padded; ``src2`` -1 for none."""
    if sets is None:
        bit_control = bit_of = np.arange(candidates)
    else:
        bit_control = np.array([c for s in sets for c in s], np.int64)
        bit_of = np.repeat(np.arange(len(sets)), [len(s) for s in sets])
    bits_count = candidates if sets is None else len(sets)
    out = np.zeros((bits_count, len(nodes)), bool)
    size = one + 1
    second = np.where(src2 >= 0, src2, one)
    # Rows by each of their sources: the rows to look at again when a source gains bits.
    by_src1 = np.argsort(src1, kind="stable")
    ptr1 = np.searchsorted(src1[by_src1], np.arange(size + 1))
    by_src2 = np.argsort(second, kind="stable")
    ptr2 = np.searchsorted(second[by_src2], np.arange(size + 1))
    # (row, bit) pairs: each row's controls, each to the bits (candidates or sets) it is part of.
    row_of, column = np.nonzero(xs >= 0)
    control_of = xs[row_of, column]
    by_control = np.argsort(bit_control, kind="stable")
    control_ptr = np.searchsorted(bit_control[by_control], np.arange(candidates + 1))
    counts = control_ptr[control_of + 1] - control_ptr[control_of]
    pair_row = np.repeat(row_of, counts)
    pair_bit = bit_of[by_control][ranges(control_ptr, np.arange(len(by_control)), control_of)]
    for first in range(0, bits_count, 64 * _WORDS):
        count = min(64 * _WORDS, bits_count - first)
        words = (count + 63) // 64
        # Per row, the bits of this pass it blocks (removing any one of a bit's controls blocks the row).
        blocked = np.zeros((len(dst), words), np.uint64)
        mine = (pair_bit >= first) & (pair_bit < first + count)
        bit = pair_bit[mine] - first
        np.bitwise_or.at(
            blocked, (pair_row[mine], bit // 64), np.left_shift(np.uint64(1), (bit % 64).astype(np.uint64))
        )
        bits = np.zeros((size, words), np.uint64)
        bits[one] = ~np.uint64(0)
        changed = np.array([one])
        touched = np.zeros(len(dst), bool)  # scratch: a mask, not np.unique (its hashing was 6 s of 9)
        while len(changed):
            touched[ranges(ptr1, by_src1, changed)] = True
            touched[ranges(ptr2, by_src2, changed)] = True
            rows = np.flatnonzero(touched)
            touched[rows] = False
            passed = bits[src1[rows]] & bits[second[rows]] & ~blocked[rows]
            target = dst[rows]
            order = np.argsort(target, kind="stable")
            target, passed = target[order], passed[order]
            starts = np.flatnonzero(np.r_[True, target[1:] != target[:-1]]) if len(target) else target
            gained = np.bitwise_or.reduceat(passed, starts, axis=0) if len(starts) else passed
            where = target[starts]
            merged = bits[where] | gained
            grew = (merged != bits[where]).any(axis=1)
            bits[where[grew]] = merged[grew]
            changed = where[grew]
        held = bits[nodes]  # (nodes x words)
        for i in range(count):
            out[first + i] = (held[:, i // 64] >> np.uint64(i % 64)) & np.uint64(1) == 1
    return out


def ranges(pointers: np.ndarray, items: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """``items[pointers[k] : pointers[k + 1]]`` of every key, concatenated."""
    lo, hi = pointers[keys], pointers[keys + 1]
    counts = hi - lo
    total = int(counts.sum())
    if not total:
        return np.zeros(0, np.int64)
    offsets = np.repeat(lo - np.cumsum(counts) + counts, counts)
    return items[offsets + np.arange(total)]
