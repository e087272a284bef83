"""Print static features of a model set and check the reference figures.

    PYTHONPATH=. .venv/bin/python benchmarks/features_check.py [--models seed13] [--onnx]

Checks: resnet50 @224 = 4.09 GMACs and deit_tiny @224 = 1.25 GMACs (attention
counted), each within 1 %; every CNN's total equals FlopCounterMode's raw total
within 1 %. Prints the time spent per model (build + trace [+ ONNX export]).
"""

from __future__ import annotations

import argparse
import sys
import time

from collectors.features import features_frame

EXPECTED_GMACS = {"resnet50": 4.09, "deit_tiny_patch16_224": 1.25}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="seed13")
    parser.add_argument("--onnx", action="store_true", help="also export each model to ONNX")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    frame = features_frame([args.models], with_onnx=args.onnx)
    total = time.perf_counter() - start

    print(f"{'model':<24}{'size':>5}{'GMACs':>8}{'raw':>8}{'Mparams':>9}{'act MiB':>9}"
          f"{'FLOP/B':>8}{'attn %':>7}{'dw %':>6}{'ops':>6}{'s':>7}")
    for _, r in frame.iterrows():
        print(
            f"{r['model']:<24}{r['input_size']:>5}{r['macs'] / 1e9:>8.3f}{r['flops_flopcounter_raw'] / 2e9:>8.3f}"
            f"{r['params'] / 1e6:>9.2f}{r['activation_bytes'] / 2**20:>9.1f}{r['arithmetic_intensity']:>8.1f}"
            f"{100 * r['flops_attention'] / r['flops']:>7.1f}{100 * r['flops_conv_depthwise'] / r['flops']:>6.1f}"
            f"{r['n_ops']:>6}{r['seconds']:>7.2f}"
        )
    if args.onnx:
        onnx_cols = [c for c in frame.columns if c.startswith("onnx_")]
        print("\nONNX node counts (top 8 op types per model):")
        for _, r in frame.iterrows():
            top = r[onnx_cols].astype(int).sort_values(ascending=False).head(8)
            print(f"  {r['model']:<24}" + " ".join(f"{k[5:]}={v}" for k, v in top.items() if v))
    print(f"\n{len(frame)} models in {total:.1f} s")

    ok = True
    for model, expected in EXPECTED_GMACS.items():
        hit = frame[frame["model"] == model]
        if hit.empty:
            continue
        got = hit["macs"].iloc[0] / 1e9
        good = abs(got - expected) / expected <= 0.01
        ok &= good
        print(f"{model}: {got:.3f} GMACs, expected {expected} -> {'OK' if good else 'MISMATCH'}")
    cnn = frame[frame["flops_attention"] == 0]
    drift = (cnn["flops"] - cnn["flops_flopcounter_raw"]).abs() / cnn["flops_flopcounter_raw"]
    good = bool((drift <= 0.01).all())
    ok &= good
    print(f"CNNs vs FlopCounterMode raw total: max drift {drift.max():.2%} -> {'OK' if good else 'MISMATCH'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
