"""`effbench predict` on stored devices held out one at a time, beside the plain single-source KRT.

What a user does, exactly: a copy of the store without the device, ``known.csv`` with 5 of its
real measurements, ``effbench predict`` (through the CLI, in-process with typer's runner, so the
code path is the user's), and the device's other real measurements as the truth. Per device and
configuration, 3 draws of known models; the same known files for every method.

* AI Hub: five devices, every configuration of theirs with ≥ 15 models; the default method
  (``auto``) beside ``plain_krt`` (one source of the same runtime|precision, median ratio, the most
  consistent source among those covering half the known models) and ``krt``.
* timm: one GPU held out (its eager AMP NCHW configuration of the newest torch); known models
  are given at their own input sizes; every (model, input size) measured elsewhere must get a
  prediction (the NaN count is printed).

    python benchmarks/predict_heldout.py [--store DIR] [--draws 3] [--methods auto,plain_krt,krt]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

AIHUB_DEVICES = ("Samsung Galaxy S24", "Snapdragon 8 Elite QRD", "QCS8550 (Proxy)",
                 "SA8295P ADP", "RB3 Gen 2 (Proxy)")
TIMM_DEVICE = "RTX 3090"


def _truth(store, device: str) -> pd.DataFrame:
    """The device's newest value per (configuration, model, input size)."""
    from predictor.matrix import build_matrix

    rows = store.measurements()
    m = build_matrix(rows[rows["device"] == device], min_models=15)
    long = m.values.stack().dropna().rename("true").reset_index()
    long = long.merge(m.models[["model", "input_size"]], left_on="row", right_index=True)
    return long.merge(m.configs[["runtime", "precision"]], left_on="config", right_index=True)


def _score(pred: pd.DataFrame, truth: pd.DataFrame) -> dict[str, float]:
    from predictor.metrics import spearman, within

    p = pred[~pred["known"]].copy()
    p["input_size"] = pd.to_numeric(p["input_size"], errors="coerce")
    t = truth.copy()
    t["input_size"] = pd.to_numeric(t["input_size"], errors="coerce")
    j = p.merge(t, on=["model", "input_size"])
    ok = np.isfinite(j["latency_ms_pred"])
    return {"within_10": within(j.loc[ok, "true"].to_numpy(), j.loc[ok, "latency_ms_pred"].to_numpy(), 0.10),
            "spearman": spearman(j.loc[ok, "true"], j.loc[ok, "latency_ms_pred"]),
            "n": int(ok.sum()), "nan": int((~ok).sum())}


def run_device(store, device: str, methods: list[str], draws: int, folder: Path,
               min_models: int = 15) -> list[dict]:
    from typer.testing import CliRunner

    from collectors.store import copy_store
    from effbench.cli import app

    runner = CliRunner()
    held = copy_store(store, folder / "store", keep=lambda df: df["device"] != device)
    truth = _truth(store, device)
    rows = []
    for config, cell in truth.groupby("config"):
        if len(cell) < min_models:
            continue
        runtime, precision = cell["runtime"].iloc[0], cell["precision"].iloc[0]
        for draw in range(draws):
            known = cell.sample(5, random_state=draw)
            known_file = folder / "known.csv"
            known.rename(columns={"true": "latency_ms"})[["model", "input_size", "latency_ms"]
                                                          ].to_csv(known_file, index=False)
            rest = cell.drop(known.index)
            for method in methods:
                out = folder / f"{method}.csv"
                t = time.perf_counter()
                res = runner.invoke(app, ["predict", "--store", str(held.root), "--device", device,
                                          "--runtime", runtime, "--precision", precision,
                                          "--known", str(known_file), "--method", method,
                                          "--out", str(out)])
                seconds = time.perf_counter() - t
                if res.exit_code != 0:
                    rows.append(dict(device=device, config=config, draw=draw, method=method,
                                     error=res.output.strip()[-160:]))
                    continue
                pred = pd.read_csv(out)
                rows.append(dict(device=device, config=config, draw=draw, method=method,
                                 chosen=pred["method"].iloc[0], seconds=seconds,
                                 **_score(pred, rest)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", help="an imported store (default: import the public data)")
    parser.add_argument("--draws", type=int, default=3)
    parser.add_argument("--methods", default="auto,plain_krt,krt")
    parser.add_argument("--devices", default=",".join(AIHUB_DEVICES))
    parser.add_argument("--timm", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    from collectors.importers import public_store

    store = public_store(args.store)
    start = time.perf_counter()
    rows = []
    devices = [d.strip() for d in args.devices.split(",") if d.strip()]
    if args.timm:
        devices.append(TIMM_DEVICE)
    for device in devices:
        folder = Path(tempfile.mkdtemp(prefix="heldout-device-"))
        rows += run_device(store, device, methods, args.draws, folder)
        print(f"{device}: done ({time.perf_counter() - start:.0f} s)", flush=True)
    table = pd.DataFrame(rows)
    errors = table[table.get("error").notna()] if "error" in table else table.iloc[:0]
    ok = table.drop(errors.index)
    pd.set_option("display.width", 200)
    per_device = (ok.groupby(["device", "method"])[["within_10", "spearman", "nan", "seconds"]]
                  .mean().round(3))
    print("\nper held-out device (mean over its configurations and draws):")
    print(per_device.to_string())
    print("\nchosen by auto:", ok[ok["method"] == "auto"]["chosen"].value_counts().to_dict())
    for scope, part in (("AI Hub", ok[ok["device"] != TIMM_DEVICE]),
                        (f"timm ({TIMM_DEVICE})", ok[ok["device"] == TIMM_DEVICE])):
        if part.empty:
            continue
        means = part.groupby(["device", "method"])[["within_10", "spearman"]].mean() \
            .groupby("method").mean()
        print(f"\n{scope}, mean over devices:")
        for method, r in means.iterrows():
            nan = int(part[part["method"] == method]["nan"].sum())
            print(f"  {method:>10}: within ±10 % {r['within_10']:.3f}, Spearman {r['spearman']:.3f}"
                  f", NaN predictions {nan}")
    if len(errors):
        print(f"\n{len(errors)} requests failed, e.g.: {errors['error'].iloc[0]}")
    print(f"\ntotal {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
