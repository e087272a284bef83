"""Name -> entry lookup over the catalogue, in the spirit of ``timm.models._registry``.

Every source spells models its own way (AI Hub folder ``mobilenet_v2_quantized``, timm
``mobilenetv2_100.ra_in1k``, torchvision ``mobilenet_v2``, a paper's "MobileNet-V2"). All of
them must land on one canonical id, or measurements of the same network never join. Lookup
therefore tries, in order: the exact spelling (case-insensitive), the spelling without a timm
pretrained tag, without an AI Hub precision suffix, and finally a "loose" key with
punctuation removed (``MobileNet-V2`` == ``mobilenet_v2``). Loose keys that two entries share are
dropped rather than guessed; a test checks that no other timm or torchvision architecture name
is captured by a loose key.
"""

from __future__ import annotations

import difflib
import fnmatch
import re
from collections.abc import Callable, Iterable
from typing import TypeVar

from models_registry.entry import ModelEntry
from models_registry.families import PRECISION_SUFFIX, family_from_rules

# Named sets beyond those an entry declares: "all" is every entry.
ALL_SET = "all"
_TIMM_LIKE = re.compile(r"^[a-z0-9][a-z0-9_\-]*$")

_ENTRIES: dict[str, ModelEntry] = {}
_EXACT: dict[str, str] = {}
_LOOSE: dict[str, str | None] = {}  # None marks a loose key shared by two entries.

T = TypeVar("T", ModelEntry, Callable[[], ModelEntry])


class UnknownModelError(ValueError):
    """A model name that the catalogue cannot resolve; the message lists close matches."""


def _loose(key: str) -> str:
    """Punctuation-blind key; a separator between two digits is kept (as ``_``) so that
    ``regnet_x_3_2gf`` and ``regnet_x_32gf`` stay apart while ``SqueezeNet 1.1`` ==
    ``squeezenet1_1``."""
    key = re.sub(r"(?<=\d)[^a-z0-9]+(?=\d)", "_", key)
    return re.sub(r"[^a-z0-9_]|(?<!\d)_|_(?!\d)", "", key)


def _spellings(entry: ModelEntry) -> Iterable[str]:
    yield entry.id
    yield entry.display_name
    yield from entry.aliases
    yield from entry.aihub_dirs
    if entry.timm_name:
        yield entry.timm_name
    if entry.torchvision_name:
        yield entry.torchvision_name


def register_model(entry: T) -> T:
    """Add ``entry`` to the catalogue; also usable as a decorator on a function returning one.

    Two entries claiming the same exact spelling is a catalogue bug and fails at import.
    """
    record = entry() if callable(entry) and not isinstance(entry, ModelEntry) else entry
    if not isinstance(record, ModelEntry):
        raise TypeError(f"register_model expects a ModelEntry, got {type(record).__name__}")
    if record.id in _ENTRIES:
        raise ValueError(f"model id {record.id!r} registered twice")
    keys = {spelling.strip().lower() for spelling in _spellings(record)}
    for key in keys:
        owner = _EXACT.get(key)
        if owner is not None:
            raise ValueError(f"alias {key!r} of {record.id!r} already names {owner!r}")
    _ENTRIES[record.id] = record
    for key in keys:
        _EXACT[key] = record.id
        loose = _loose(key)
        if loose:
            _LOOSE[loose] = record.id if _LOOSE.get(loose, record.id) == record.id else None
    return entry


def _candidates(name: str) -> list[str]:
    """Spellings to try for ``name``, most literal first."""
    key = name.strip().lower()
    untagged = key.split(".", 1)[0]
    tries = [key, untagged, PRECISION_SUFFIX.sub("", untagged)]
    return list(dict.fromkeys(t for t in tries if t))


def _lookup(name: str) -> ModelEntry | None:
    candidates = _candidates(name)
    for key in candidates:
        if key in _EXACT:
            return _ENTRIES[_EXACT[key]]
    for key in candidates:
        owner = _LOOSE.get(_loose(key))
        if owner is not None:
            return _ENTRIES[owner]
    return None


def _unknown(name: object) -> UnknownModelError:
    text = str(name)
    key = _candidates(text)[-1] if text.strip() else ""
    matches = difflib.get_close_matches(key, list(_EXACT), n=8, cutoff=0.6)
    ids = list(dict.fromkeys(_EXACT[m] for m in matches))[:5]
    hint = f"close matches: {', '.join(ids)}" if ids else "no close matches (see list_models())"
    return UnknownModelError(f"unknown model {text!r}; {hint}")


def resolve(name: str) -> ModelEntry:
    """The catalogue entry for any alias of a model, e.g. ``"mobilenet_v2_quantized"``."""
    if not isinstance(name, str):
        raise _unknown(name)
    entry = _lookup(name)
    if entry is None:
        raise _unknown(name)
    return entry


def canonical_id(name: str) -> str:
    """The id measurements of ``name`` are stored under.

    Catalogue aliases map to their entry's id; any other timm-style architecture name is its own
    id once lower-cased and stripped of pretrained tag and precision suffix (timm has ~1,600
    architectures; only the ones other sources also measure need catalogue entries).
    """
    entry = _lookup(name) if isinstance(name, str) else None
    if entry is not None:
        return entry.id
    fallback = _candidates(name)[-1] if isinstance(name, str) and name.strip() else ""
    if not _TIMM_LIKE.match(fallback):
        raise _unknown(name)
    return fallback


def family_of(name: str) -> str:
    """The catalogue entry's family, else the name-pattern rules' answer, else ``unknown``."""
    entry = _lookup(name) if isinstance(name, str) else None
    if entry is not None:
        return entry.family
    return family_from_rules(name) if isinstance(name, str) else "unknown"


def list_models(pattern: str = "*") -> list[str]:
    """Sorted catalogue ids matching the (case-insensitive) fnmatch ``pattern``."""
    pattern = pattern.lower()
    return sorted(i for i in _ENTRIES if fnmatch.fnmatchcase(i, pattern))


def set_names() -> list[str]:
    """Names ``model_set`` accepts besides explicit model lists."""
    declared = {s for entry in _ENTRIES.values() for s in entry.sets}
    return sorted(declared | {ALL_SET})


def model_set(name: str) -> list[ModelEntry]:
    """Entries of a named set (``seed13``, ``aihub``, ``all``) or of a comma-separated name list.

    Order is declaration order for sets and the caller's order for lists (duplicates dropped).
    """
    key = name.strip().lower()
    if key == ALL_SET:
        return list(_ENTRIES.values())
    members = [e for e in _ENTRIES.values() if key in e.sets]
    if members:
        return members
    parts = [p for p in (s.strip() for s in name.split(",")) if p]
    if not parts:
        raise UnknownModelError(f"empty model set {name!r}; sets: {', '.join(set_names())}")
    resolved = {}
    for part in parts:
        entry = resolve(part)
        resolved.setdefault(entry.id, entry)
    return list(resolved.values())
