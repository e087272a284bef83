"""One catalogue record: what a network is, where its numbers come from, how to build it."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from models_registry.families import FAMILIES

if TYPE_CHECKING:  # torch is heavy; only ``build`` needs it.
    import torch

BUILDER_LIBRARIES = ("timm", "torchvision")


class BuilderUnavailableError(ValueError):
    """The entry has no public builder (e.g. AI Hub's CLIP image+text graph)."""


@dataclass(frozen=True)
class ModelEntry:
    """A network declared once, under the canonical ``id`` every data source joins on.

    ``input_size`` is the square side the network is declared at: the AI Hub model card's
    resolution for entries measured on AI Hub (so a local run reproduces the edge input), else
    the resolution of the timm checkpoint row that ``top1`` comes from. ``top1_source`` says
    which row or document the accuracy was copied from; ``top1``/``params_m`` are ``None`` when
    no public figure exists. ``aliases`` hold every other spelling a source uses (AI Hub folder,
    torchvision name, display names); lookups are case-insensitive.
    """

    id: str
    display_name: str
    builder: str | None
    input_size: int
    family: str
    top1: float | None = None
    top1_source: str = ""
    params_m: float | None = None
    aliases: tuple[str, ...] = ()
    aihub_dirs: tuple[str, ...] = ()
    timm_name: str | None = None
    torchvision_name: str | None = None
    sets: tuple[str, ...] = field(default=())
    # Extra keyword arguments for the builder, as (name, value) pairs so the entry stays hashable
    # (e.g. torchvision GoogLeNet without the training-only auxiliary heads, as AI Hub exports it).
    builder_kwargs: tuple[tuple[str, object], ...] = ()

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"model {self.id!r}: family {self.family!r} not in {FAMILIES}")
        if self.builder is not None:
            library, _, name = self.builder.partition(":")
            if library not in BUILDER_LIBRARIES or not name:
                raise ValueError(
                    f"model {self.id!r}: builder {self.builder!r} is not 'timm:<name>' "
                    "or 'torchvision:<name>'"
                )
        if self.aihub_dirs and "aihub" not in self.sets:
            # Membership of the "aihub" set follows from the folders; never declared twice.
            object.__setattr__(self, "sets", (*self.sets, "aihub"))

    def build(self, pretrained: bool = False) -> "torch.nn.Module":
        """Instantiate the network with random weights (``pretrained=True`` may download)."""
        if self.builder is None:
            raise BuilderUnavailableError(f"model {self.id!r} has no public builder")
        library, _, name = self.builder.partition(":")
        kwargs = dict(self.builder_kwargs)
        if library == "timm":
            timm = importlib.import_module("timm")
            return timm.create_model(name, pretrained=pretrained, **kwargs)
        models = importlib.import_module("torchvision.models")
        return models.get_model(name, weights="DEFAULT" if pretrained else None, **kwargs)
