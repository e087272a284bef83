"""The target configuration of a query: checked against what the store knows.

A new device is the point of effbench, so an unknown ``--device`` is allowed (with a "did you
mean" note when it is one typo away from a stored one). Runtime and precision are different: a
source is only comparable when its software stack is named the way the store names it, so a
runtime or precision the store has never seen is an error that lists those it has. The names the
raw data and the collectors use for the same stack are read as the store's name, with a note
(AI Hub's ``qnn_dlc`` is the store's ``qnn``, ``fp16`` its ``float``; ONNX Runtime is AI Hub's
``onnx`` and the local collector's ``onnxruntime``): a user copying a runtime from a perf.yaml
or a collection gets an answer, not an error.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import numpy as np
import pandas as pd


class TargetError(ValueError):
    """A target the store cannot serve (no device, unknown runtime or precision, unit slip)."""


@dataclass(frozen=True)
class Target:
    """What a query says of the target: device, runtime, precision (as the store spells them)."""

    device: str
    runtime: str
    precision: str
    #: the stored tier of the device ("unknown" for a new device)
    tier: str = "unknown"

    @property
    def config_id(self) -> str:
        """``device|runtime|precision``: the shape of ``predictor.matrix.config_id``, so the
        methods read the target's runtime|precision as they read a source's."""
        return f"{self.device}|{self.runtime}|{self.precision}"

    def stored_configs(self, configs: pd.DataFrame) -> list[str]:
        """Stored configurations of exactly this device, runtime and precision (any layout or
        version): the known table replaces them."""
        low = {c: configs[c].astype(str).str.lower() for c in ("device", "runtime", "precision")}
        same = ((low["device"] == self.device.lower()) & (low["runtime"] == self.runtime.lower())
                & (low["precision"] == self.precision.lower()))
        return list(configs.index[same])


def spellings(what: str) -> dict[str, tuple[str, ...]]:
    """Other spellings of a runtime or precision -> the stored names they may stand for, in order
    of preference (lower case). From the importers' and collectors' own tables, so a name they
    learn is learnt here too; plus the two stacks the two sides name apart."""
    from collectors.importers import aihub
    from collectors.local import runtimes

    table: dict[str, list[str]] = {}
    if what == "runtime":
        pairs = [*aihub.RUNTIMES.items(), *runtimes.ALIASES.items(),
                 ("onnxruntime", "onnx"), ("ort", "onnx"), ("litert", "tflite")]
    else:
        pairs = [*aihub.PRECISIONS.items(), ("int8", "w8a8")]
    for raw, name in pairs:
        table.setdefault(raw.lower(), [])
        if name.lower() not in table[raw.lower()]:
            table[raw.lower()].append(name.lower())
    return {raw: tuple(names) for raw, names in table.items()}


def _spelled(value: str, stored: list[str], what: str, notes: list[str] | None = None) -> str:
    by_lower = {s.lower(): s for s in stored}
    if value.lower() in by_lower:
        return by_lower[value.lower()]
    for name in spellings(what).get(value.lower(), ()):
        if name in by_lower:
            if notes is not None:
                notes.append(f"--{what} {value!r} read as {by_lower[name]!r} (the store's name for it)")
            return by_lower[name]
    near = difflib.get_close_matches(value.lower(), list(by_lower), n=1, cutoff=0.6)
    hint = f"did you mean {by_lower[near[0]]!r}? " if near else ""
    raise TargetError(f"--{what} {value!r} is not in the store; {hint}the store has: "
                      f"{', '.join(sorted(stored))}")


def resolve_target(configs: pd.DataFrame, device: str | None, runtime: str | None,
                   precision: str | None) -> tuple[Target, list[str]]:
    """The checked target and notes for the user (a near-miss device name)."""
    notes = []
    if not device or not str(device).strip():
        raise TargetError("--device is required (the target device; it may be new)")
    for what, value in (("runtime", runtime), ("precision", precision)):
        if not value or not str(value).strip():
            raise TargetError(f"--{what} is required; the store has: "
                              f"{', '.join(sorted(configs[what].dropna().astype(str).unique()))}")
    runtime = _spelled(str(runtime).strip(), sorted(configs["runtime"].dropna().astype(str).unique()),
                       "runtime", notes)
    precision = _spelled(str(precision).strip(),
                         sorted(configs["precision"].dropna().astype(str).unique()), "precision", notes)
    device = str(device).strip()
    devices = sorted(configs["device"].dropna().astype(str).unique())
    by_lower = {d.lower(): d for d in devices}
    tier = "unknown"
    if device.lower() in by_lower:
        device = by_lower[device.lower()]
        tier = str(configs.loc[configs["device"] == device, "device_tier"].iloc[0])
    else:
        near = difflib.get_close_matches(device.lower(), list(by_lower), n=1, cutoff=0.8)
        if near:
            notes.append(f"device {device!r} is not in the store (did you mean "
                         f"{by_lower[near[0]]!r}?); predicting it as a new device")
    return Target(device, runtime, precision, tier), notes


#: Known values off from every comparable source by more than this factor are a unit slip.
UNIT_SLIP = 100.0


def check_units(known: pd.Series, sources: pd.DataFrame, target: Target | None = None) -> None:
    """Raise if the known values are > 100× off the typical comparable source.

    Why: a latency in seconds (or µs) given as ms still "works" — every ratio absorbs the
    factor — but the user reads predictions 1000× off. Comparable sources are those running the
    target's runtime and precision (all sources when none does); the typical one is the median
    of their per-source median log ratios. On the public data the slowest board of a runtime and
    precision is ~20× the median one, the fastest ~2× faster: a 100× gap is a unit, not silicon.
    ``sources``: the design's ``src:<config>`` columns.
    """
    if target is not None:
        want = f"{target.runtime}|{target.precision}".lower()
        same = [c for c in sources.columns if "|".join(str(c).split("|")[1:3]).lower() == want]
        sources = sources[same] if same else sources
    shared = sources.loc[sources.index.intersection(known.index)]
    if shared.empty:
        return
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.log10(known.reindex(shared.index).to_numpy()[:, None] / shared.to_numpy())
    ratios = pd.DataFrame(np.where(np.isfinite(ratios), ratios, np.nan))
    per_source = ratios.median(axis=0, skipna=True).dropna()
    if per_source.empty:
        return
    closest = float(per_source.median())  # the typical comparable source, not the extreme one
    if abs(closest) <= np.log10(UNIT_SLIP):
        return
    factor = 10 ** closest
    if closest > 0:
        unit = "microseconds (divide by 1000)" if abs(closest - 3) < 1.5 else "a unit other than ms"
    else:
        unit = "seconds (multiply by 1000)" if abs(closest + 3) < 1.5 else "a unit other than ms"
    raise TargetError(f"known values are {factor:.3g}x those of a typical stored configuration "
                      f"of this runtime and precision on the same models: are they in {unit}? effbench expects ms per sample")


__all__ = ["Target", "TargetError", "UNIT_SLIP", "check_units", "resolve_target", "spellings"]
