"""Family rules: coverage of the real timm benchmark names and the documented edge cases."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

import models_registry as mr


def benchmark_names(timm_dir: Path) -> set[str]:
    names: set[str] = set()
    for path in sorted(timm_dir.glob("benchmark-*.csv")):
        with path.open(newline="") as handle:
            names.update(row["model"] for row in csv.DictReader(handle))
    return names


def test_family_share_on_real_timm_benchmark_names(shared_data: Path) -> None:
    names = benchmark_names(shared_data / "timm")
    assert len(names) > 1000
    families = {name: mr.family_of(name) for name in names}
    unknown = sorted(n for n, f in families.items() if f == "unknown")
    share = 1 - len(unknown) / len(names)
    print(f"\n{len(names)} names, share with a family {share:.4f}; {Counter(families.values())}")
    print("unknown:", unknown)
    assert share >= 0.95
    # Only timm's tiny unit-test nets are left out on purpose.
    assert all(n.startswith("test_") for n in unknown)


@pytest.mark.parametrize(
    ("name", "family"),
    [
        ("vit_base_r50_s16_224", "hybrid"),  # ResNet stem + ViT
        ("vit_small_resnet26d_224", "hybrid"),
        ("vit_relpos_base_patch16_rpn_224", "transformer"),
        ("efficientvit_m0", "hybrid"),  # before the *efficientnet* rule
        ("gc_efficientnetv2_rw_t", "efficient_cnn"),
        ("tf_efficientnet_lite0.in1k", "efficient_cnn"),  # tag and tf_ prefix stripped
        ("gluon_resnet50_v1d", "standard_cnn"),
        ("mobilenetv4_hybrid_medium", "hybrid"),
        ("mobilenetv4_conv_small", "mobile_cnn"),
        ("caformer_s18", "hybrid"),  # attention stages
        ("convformer_s18", "standard_cnn"),  # attention-free MetaFormer
        ("mixer_b16_224", "transformer"),
        ("repvit_m1", "mobile_cnn"),
        ("regnetz_b16", "efficient_cnn"),
        ("haloregnetz_b", "hybrid"),
        ("dm_nfnet_f0", "standard_cnn"),
        ("mobile_vit_quantized", "hybrid"),
        ("test_vit", "unknown"),
        ("", "unknown"),
    ],
)
def test_edge_cases(name: str, family: str) -> None:
    assert mr.family_from_rules(name) == family


def test_rule_table_is_data_with_known_families() -> None:
    assert mr.FAMILIES == (
        "standard_cnn", "mobile_cnn", "efficient_cnn", "transformer", "hybrid", "unknown",
    )
    patterns = [p for p, _ in mr.FAMILY_RULES]
    assert len(patterns) == len(set(patterns)), "duplicate pattern in FAMILY_RULES"
    assert {f for _, f in mr.FAMILY_RULES} <= set(mr.FAMILIES)


def test_catalogue_family_overrides_rules() -> None:
    # "mobile_vit" is a catalogue alias; "mobilevit_xs" is not: both hybrid, via different paths.
    assert mr.family_of("mobile_vit") == mr.resolve("mobile_vit").family == "hybrid"
    assert mr.family_of("mobilevit_xs.cvnets_in1k") == "hybrid"
