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
    "sa8775p": "sa8775p",                     # the automotive SoC (SA8775P ADP) ...
    "qcs9075": "sa8775p",                     # ... and its IoT edition
}
#: AI Hub "(Proxy)" boards of chipsets it does not host: the silicon they actually run on.
#: The data decide this: SA8255 (Proxy), SA8650 (Proxy) and SA8775 (Proxy) run every model at
#: 0.998–1.000x the Galaxy S23 / QCS8550 (Proxy) latency, sd of the log ratio 0.005–0.009 over
#: 93 same-runtime pairs, 100 % within ±10 % — while the real SA8775P ADP is 0.86x QCS9075 with
#: sd 0.08. A proxy of an automotive chipset is a Snapdragon 8 Gen 2 board.
PROXY_SILICON: dict[str, str] = {
    "sa8255p": "snapdragon 8 gen 2",
    "sa8650p": "snapdragon 8 gen 2",
    "sa8775p": "snapdragon 8 gen 2",
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
    if re.search(r"\bproxy\b", f"{chipset} {device}", flags=re.IGNORECASE) and name in PROXY_SILICON:
        return PROXY_SILICON[name]
    return SILICON.get(name, name)


__all__ = ["PROXY_SILICON", "SILICON", "normalise_chipset", "silicon_group"]
