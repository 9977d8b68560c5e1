"""Train / valid / test split of the score catalogue, by piece.

A piece's split is decided by its *group* (its name without a trailing ``_a``/``_b``/``-2`` movement suffix, so
the halves of one Palestrina Benedictus or the variants of one Bach chorale number never straddle two splits):

- test: the fixed list :data:`TEST_PIECES` (30 Bach chorales, 14 Palestrina, 4 Monteverdi, 6 trecento works;
  2 to 8 parts);
- valid: groups whose CRC-32 is 1 modulo 10, plus :data:`VALID_EXTRA` (so 7- and 8-part excerpts exist);
- train: everything else.
"""
from __future__ import annotations

import re
import zlib
from functools import lru_cache

from engine.errors import MotetError

SPLITS = ("train", "valid", "test")

TEST_PIECES = (
    "bach/bwv11.6", "bach/bwv13.6", "bach/bwv146.8", "bach/bwv16.6", "bach/bwv194.6", "bach/bwv195.6",
    "bach/bwv227.1", "bach/bwv24.6", "bach/bwv244.17", "bach/bwv245.28", "bach/bwv25.6", "bach/bwv252",
    "bach/bwv256", "bach/bwv26.6", "bach/bwv27.6", "bach/bwv303", "bach/bwv307", "bach/bwv342", "bach/bwv346",
    "bach/bwv352", "bach/bwv356", "bach/bwv36.8-2", "bach/bwv403", "bach/bwv407", "bach/bwv55.5", "bach/bwv56.5",
    "bach/bwv60.5", "bach/bwv81.7", "bach/bwv87.7", "bach/bwv88.7",
    "monteverdi/madrigal.3.4", "monteverdi/madrigal.3.8", "monteverdi/madrigal.4.4", "monteverdi/madrigal.5.4",
    "palestrina/Agnus_II_06", "palestrina/Agnus_II_27", "palestrina/Agnus_I_20", "palestrina/Agnus_I_24",
    "palestrina/Agnus_I_79", "palestrina/Benedictus_02", "palestrina/Benedictus_06", "palestrina/Benedictus_11_b",
    "palestrina/Benedictus_13_b", "palestrina/Benedictus_14_b", "palestrina/Benedictus_23_b",
    "palestrina/Benedictus_61_a", "palestrina/Benedictus_64_a", "palestrina/Benedictus_66_a",
    "trecento/PMFC_12_15-Sanctus Lorenzo", "trecento/PMFC_12_22-Benedicamus PMFC12.22",
    "trecento/PMFC_12_7-Gloria Egardus", "trecento/PMFC_13_17-Gloria Spiritus et Alme",
    "trecento/PMFC_24_2-Credo Ciconia 2", "trecento/PMFC_24_5-Gloria_Spiritus_et_alme",
)
VALID_EXTRA = ("palestrina/Agnus_II_50", "palestrina/Benedictus_12")


def piece_group(name: str) -> str:
    """The name without a movement suffix: 'palestrina/Benedictus_23_b' -> 'palestrina/Benedictus_23'."""
    return re.sub(r"([_-](a|b|c|[1-9]))$", "", name)


_TEST_GROUPS = frozenset(piece_group(p) for p in TEST_PIECES)
_VALID_GROUPS = frozenset(piece_group(p) for p in VALID_EXTRA)


def piece_split(name: str) -> str:
    """'train', 'valid' or 'test' for a piece name."""
    group = piece_group(name)
    if group in _TEST_GROUPS:
        return "test"
    if group in _VALID_GROUPS or zlib.crc32(group.encode()) % 10 == 1:
        return "valid"
    return "train"


@lru_cache(maxsize=None)
def _split_pieces(split: str, n_voices: int) -> tuple[str, ...]:
    from engine.corpus.scores import load_catalogue

    catalogue = load_catalogue()
    return tuple(sorted(name for name, piece in catalogue.items()
                        if len(piece["parts"]) >= n_voices and (split == "all" or piece_split(name) == split)))


def split_pieces(split: str, n_voices: int = 4) -> list[str]:
    """Sorted names of the pieces of ``split`` (train/valid/test/all) with at least ``n_voices`` parts."""
    if split not in (*SPLITS, "all"):
        raise MotetError(f"split '{split}': choose train, valid, test or all")
    return list(_split_pieces(split, n_voices))
