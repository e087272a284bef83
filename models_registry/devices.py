"""Hardware identity of devices: which boards share silicon.

Why: AI Hub profiles the same SoC under several names (a phone and its IoT "proxy" board, an
automotive platform in three SKUs). Holding out a device while its twin stays among the sources
measures how well a method recognises a twin, not how it transfers to new hardware, so
leave-one-device-out groups devices by silicon (``predictor.evaluation.protocols``).
"""

from __future__ import annotations

import re

#: normalised chipset name -> silicon group. Chipsets not listed are their own group.
SILICON: dict[str, str] = {
    "qcs8550": "snapdragon 8 gen 2",          # the IoT edition of the Galaxy S23's SoC
    "snapdragon 8 gen 2": "snapdragon 8 gen 2",
    "sa8255p": "sa8255p/sa8650p/sa8775p",     # one automotive platform in three SKUs
    "sa8650p": "sa8255p/sa8650p/sa8775p",
    "sa8775p": "sa8255p/sa8650p/sa8775p",
    "qcs9075": "sa8255p/sa8650p/sa8775p",     # the IoT edition of SA8775P
}


def normalise_chipset(chipset: str) -> str:
    """``"Snapdragon® 8 Gen 2"`` → ``"snapdragon 8 gen 2"``, ``"QCS8550 Proxy"`` → ``"qcs8550"``."""
    text = re.sub(r"[®™]", "", str(chipset)).lower()
    text = re.sub(r"\bproxy\b|\(proxy\)", "", text)
    return re.sub(r"\s+", " ", text).strip()


def silicon_group(chipset: str | None, device: str) -> str:
    """The silicon a device runs on; the device name itself when its chipset is unknown."""
    if chipset is None or str(chipset) in ("", "nan", "None", "<NA>"):
        return str(device)
    name = normalise_chipset(chipset)
    return SILICON.get(name, name)


__all__ = ["SILICON", "normalise_chipset", "silicon_group"]
