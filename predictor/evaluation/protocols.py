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
* ``forward`` (what a user meets: their device is *newer* than the store): a date T
  (``cutoff``); the sources are the store as it stood before T — each source cell the newest
  measurement taken before T (``LatencyMatrix.as_of``), configurations with none left out —
  and the targets are the configurations of devices first seen on or after T (first seen: the
  earliest measurement of the device in the history, not the latest view), scored on their
  measurements from T on. Every target device is genuinely new to its sources. ``time`` and
  ``time_split`` are accepted as its former names. Without a cutoff, T is the median
  first-seen date of the devices.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd

PROTOCOLS = ("lodo", "forward", "tier_to_tier", "leave_family_out")
#: Short names the CLI accepts (``time``/``time_split``: the former name of ``forward``).
ALIASES = {"lodo": "lodo", "tier": "tier_to_tier", "tier_to_tier": "tier_to_tier",
           "family": "leave_family_out", "leave_family_out": "leave_family_out",
           "forward": "forward", "time": "forward", "time_split": "forward"}


class ProtocolError(ValueError):
    """An unknown protocol, or protocol options that leave nothing to evaluate."""


@dataclass(frozen=True)
class Split:
    """One evaluation unit: predict ``target`` from ``sources``.

    ``label`` is the protocol as reported ("lodo", "lodo:chipset", "tier:gpu->edge", "family",
    "forward@2024-10-01").
    ``holdout_family``: known models are drawn outside it and only it is scored.
    ``as_of``: the sources are read as the store stood before this date (``forward``).
    """
    label: str
    target: str
    sources: tuple[str, ...]
    holdout_family: str | None = None
    as_of: pd.Timestamp | None = None
    #: ``forward``: which of the target's measurements from T on are scored ("first"/"latest")
    score_on: str = "first"


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


def device_first_seen(configs: pd.DataFrame, history: pd.DataFrame | None = None) -> pd.Series:
    """Per configuration: the date its *device* was first measured.

    From the history when there is one (the latest view's ``first_seen`` is the oldest of the
    *newest* values, which is later than the device's first profile for any re-profiled board),
    else from ``configs.first_seen``.
    """
    device = configs["device"].astype(str)
    if history is not None and len(history):
        first = pd.to_datetime(history["measured_at"]).groupby(
            history["config"].astype(str).map(device)).min()
        seen = device.map(first)
        if "first_seen" in configs:
            fallback = pd.to_datetime(configs["first_seen"]).groupby(device).transform("min")
            seen = seen.fillna(fallback)
        return pd.to_datetime(seen)
    if "first_seen" not in configs:
        raise ProtocolError("forward needs configs.first_seen or the matrix history")
    return pd.to_datetime(configs["first_seen"]).groupby(device).transform("min")


def forward_view(matrix, split: Split):
    """The matrix a ``forward`` split is evaluated on: its source columns as of ``split.as_of``
    (strictly before T), its target column as measured from T on (the newest such value)."""
    if split.as_of is None:
        return matrix
    past = matrix.as_of(split.as_of, inclusive=False)
    values = past.values.copy()
    target = split.target
    if matrix.history is not None and len(matrix.history):
        h = matrix.history
        h = h[(h["config"] == target) & (pd.to_datetime(h["measured_at"]) >= split.as_of)]
        keep = "first" if split.score_on == "first" else "last"
        after = (h.sort_values("measured_at", kind="stable").drop_duplicates("model", keep=keep)
                 .set_index("model")["value"])
        values[target] = after.reindex(values.index).astype(float)
    else:
        values[target] = matrix.values[target]
    from dataclasses import replace

    return replace(past, values=values)


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
                cutoff: str | pd.Timestamp | None = None, group: str = "device",
                history: pd.DataFrame | None = None, score_on: str = "first") -> list[Split]:
    """The splits of ``protocol`` over a matrix's configuration table.

    ``targets`` restricts the target configurations (default: all). ``models``/``values`` are
    needed by ``leave_family_out`` to know which families have enough measured models per target;
    ``history`` (the matrix's) by ``forward``, to know when each device and cell was measured.
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
    # forward
    seen = device_first_seen(configs, history)
    when = pd.Timestamp(cutoff) if cutoff is not None else seen.groupby(
        configs["device"].astype(str)).min().median()
    if history is not None and len(history):
        measured_before = history.loc[pd.to_datetime(history["measured_at"]) < when, "config"]
        before = configs.index.isin(pd.unique(measured_before))
    else:
        before = (pd.to_datetime(configs["first_seen"]) < when).to_numpy()
    before = pd.Series(before, index=configs.index)
    chosen = [c for c in all_targets if seen[c] >= when]
    label = f"forward@{when.date()}"
    if score_on not in ("first", "latest"):
        raise ProtocolError(f"score_on must be 'first' or 'latest', got {score_on!r}")
    splits = [Split(s.label, s.target, s.sources, as_of=when, score_on=score_on)
              for s in _lodo(configs, chosen, label, source_mask=before & (seen < when))]
    if not splits:
        raise ProtocolError(f"forward at {when.date()}: no target device first seen on or after "
                            "it with a source configuration measured before it")
    return splits


__all__ = ["ALIASES", "PROTOCOLS", "ProtocolError", "Split", "canonical_protocol",
           "device_first_seen", "forward_view", "make_splits"]
