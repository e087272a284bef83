"""Cross-device validation protocols: which configurations are targets, which may serve as sources.

Why splits are data: every protocol reduces to a list of :class:`Split` (one target configuration,
the source configurations a method may read, and an optional held-out family). The runner then
treats all protocols alike, and a test can check the one property that matters — the held-out
device never appears among its own sources — on the split list alone.

* ``lodo``: each device in turn is held out; every configuration of it is a target; sources are
  all configurations of the other devices — and, with ``group="chipset"``, of every device on the
  same silicon (``models_registry.devices``), which is what a genuinely new board is to the store.
* ``tier_to_tier``: as ``lodo``, but the sources are restricted to one tier (gpu/cpu/edge) and the
  targets to another; every ordered pair of distinct tiers present is run (or the pairs asked).
* ``leave_family_out``: ``lodo`` targets; for each family with enough models at the target, the
  known models are drawn outside that family and only that family is scored — the question is
  whether a method generalises to an architecture it was not calibrated on.
* ``time_split``: sources are configurations first seen before ``cutoff``; targets are the
  configurations of devices first seen on or after it (the matrix holds each cell's newest value,
  so the split is by configuration, not by individual measurement).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd

PROTOCOLS = ("lodo", "tier_to_tier", "leave_family_out", "time_split")
#: Short names the CLI accepts.
ALIASES = {"lodo": "lodo", "tier": "tier_to_tier", "tier_to_tier": "tier_to_tier",
           "family": "leave_family_out", "leave_family_out": "leave_family_out",
           "time": "time_split", "time_split": "time_split"}


class ProtocolError(ValueError):
    """An unknown protocol, or protocol options that leave nothing to evaluate."""


@dataclass(frozen=True)
class Split:
    """One evaluation unit: predict ``target`` from ``sources``.

    ``label`` is the protocol as reported ("lodo", "tier:gpu->edge", "family", "time<2025-01-01").
    ``holdout_family``: known models are drawn outside it and only it is scored.
    """
    label: str
    target: str
    sources: tuple[str, ...]
    holdout_family: str | None = None


def canonical_protocol(name: str) -> str:
    try:
        return ALIASES[name]
    except KeyError:
        raise ProtocolError(f"unknown protocol {name!r}; choose one of {sorted(ALIASES)}") from None


GROUPS = ("device", "chipset")


def _device_of(configs: pd.DataFrame, group: str = "device") -> pd.Series:
    """What is held out together: the device, or every device on its silicon."""
    if group not in GROUPS:
        raise ProtocolError(f"group must be one of {GROUPS}, got {group!r}")
    device = configs["device"].astype(str)
    if group == "device" or "chipset" not in configs:
        return device
    from models_registry.devices import silicon_group

    return pd.Series([silicon_group(c, d) for c, d in zip(configs["chipset"], device)],
                     index=configs.index)


def _lodo(configs: pd.DataFrame, targets: Sequence[str], label: str = "lodo",
          source_mask: pd.Series | None = None, group: str = "device") -> list[Split]:
    device = _device_of(configs, group)
    splits = []
    for target in targets:
        allowed = device != device[target]
        if source_mask is not None:
            allowed &= source_mask
        sources = tuple(configs.index[allowed])
        if sources:
            splits.append(Split(label, target, sources))
    return splits


def _tier_pairs(configs: pd.DataFrame, source_tier: str | None,
                target_tier: str | None) -> Iterable[tuple[str, str]]:
    tiers = sorted(configs["device_tier"].astype(str).unique())
    for s in [source_tier] if source_tier else tiers:
        for t in [target_tier] if target_tier else tiers:
            if s != t or (source_tier and target_tier):
                yield s, t


def make_splits(configs: pd.DataFrame, protocol: str, targets: Sequence[str] | None = None,
                models: pd.DataFrame | None = None, values: pd.DataFrame | None = None,
                source_tier: str | None = None, target_tier: str | None = None,
                families: Sequence[str] | None = None, min_family_models: int = 3,
                cutoff: str | pd.Timestamp | None = None, group: str = "device") -> list[Split]:
    """The splits of ``protocol`` over a matrix's configuration table.

    ``targets`` restricts the target configurations (default: all). ``models``/``values`` are
    needed by ``leave_family_out`` to know which families have enough measured models per target.
    """
    protocol = canonical_protocol(protocol)
    all_targets = list(configs.index) if targets is None else list(targets)
    unknown = [t for t in all_targets if t not in configs.index]
    if unknown:
        raise ProtocolError(f"unknown target configuration(s): {unknown[:5]}")
    if protocol == "lodo":
        return _lodo(configs, all_targets, "lodo" if group == "device" else f"lodo:{group}",
                     group=group)
    if protocol == "tier_to_tier":
        tier = configs["device_tier"].astype(str)
        splits = []
        for s, t in _tier_pairs(configs, source_tier, target_tier):
            chosen = [c for c in all_targets if tier[c] == t]
            splits += _lodo(configs, chosen, f"tier:{s}->{t}", source_mask=tier == s)
        return splits
    if protocol == "leave_family_out":
        if models is None or values is None:
            raise ProtocolError("leave_family_out needs the matrix's models and values")
        family = models["family"].reindex(values.index).astype("string")
        splits = []
        for base in _lodo(configs, all_targets):
            measured = family[values[base.target].notna()].dropna()
            counts = measured.value_counts()
            for fam, n in counts.items():
                if n >= min_family_models and (families is None or fam in families):
                    splits.append(Split("family", base.target, base.sources, str(fam)))
        return splits
    # time_split
    if "first_seen" not in configs:
        raise ProtocolError("time_split needs configs.first_seen")
    seen = pd.to_datetime(configs["first_seen"])
    device_seen = seen.groupby(_device_of(configs)).transform("min")
    when = pd.Timestamp(cutoff) if cutoff is not None else device_seen.median()
    chosen = [c for c in all_targets if device_seen[c] >= when]
    splits = _lodo(configs, chosen, f"time<{when.date()}", source_mask=seen < when)
    if not splits:
        raise ProtocolError(f"time_split at {when.date()}: no target device first seen after it "
                            "with a source configuration before it")
    return splits


__all__ = ["ALIASES", "PROTOCOLS", "ProtocolError", "Split", "canonical_protocol", "make_splits"]
