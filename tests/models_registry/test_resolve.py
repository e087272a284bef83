"""Name resolution over the real AI Hub folder list and the timm/torchvision name spaces."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import models_registry as mr

SEED13 = {
    "resnet18": "standard_cnn",
    "resnet50": "standard_cnn",
    "densenet121": "standard_cnn",
    "mobilenetv2_100": "mobile_cnn",
    "mobilenetv3_large_100": "mobile_cnn",
    "mnasnet_100": "mobile_cnn",
    "squeezenet1_1": "mobile_cnn",
    "efficientnet_b0": "efficient_cnn",
    "inception_v3": "standard_cnn",
    "levit_128s": "hybrid",
    "deit_tiny_patch16_224": "transformer",
    "convnext_tiny": "standard_cnn",
    "mobilevit_xxs": "hybrid",
}


@pytest.fixture(scope="module")
def aihub_dirs(shared_data: Path) -> list[str]:
    dirs = sorted(p.name for p in (shared_data / "aihub" / "perf").iterdir() if p.is_dir())
    assert len(dirs) >= 50, "expected the AI Hub image-classification folders"
    return dirs


def test_every_aihub_folder_resolves_and_is_declared(aihub_dirs: list[str]) -> None:
    for folder in aihub_dirs:
        entry = mr.resolve(folder)
        assert folder in entry.aihub_dirs, folder
    declared = {d for e in mr.model_set("aihub") for d in e.aihub_dirs}
    assert declared == set(aihub_dirs), "catalogue declares folders the data lacks, or vice versa"


def test_quantized_folders_share_the_float_folders_id(aihub_dirs: list[str]) -> None:
    quantized = [d for d in aihub_dirs if d.endswith("_quantized")]
    assert len(quantized) >= 15
    for folder in quantized:
        base = folder.removesuffix("_quantized").removesuffix("_w8a8").removesuffix("_w8a16")
        assert mr.canonical_id(folder) == mr.canonical_id(base), folder


def test_precision_suffix_resolves_even_for_undeclared_variants() -> None:
    # A future "mobilenet_v3_small_quantized" folder must join its float twin.
    assert mr.canonical_id("mobilenet_v3_small_w8a16_quantized") == "mobilenetv3_small_100"


def test_known_cross_source_joins() -> None:
    assert mr.resolve("mobile_vit").id == "mobilevit_s"  # 5.57M params: MobileViT-S, not XXS
    assert mr.canonical_id("mobilenet_v2") == "mobilenetv2_100"
    assert mr.canonical_id("mobilenetv2_100") == "mobilenetv2_100"
    assert mr.canonical_id("regnet") == "regnetx_032"
    assert mr.canonical_id("vit_b_16") == mr.canonical_id("vit") == "vit_base_patch16_224"
    assert mr.canonical_id("shufflenet_v2") == "shufflenet_v2_x0_5"


def test_aliases_are_case_insensitive_and_tags_are_stripped() -> None:
    assert mr.resolve("RESNET50") is mr.resolve("resnet50")
    assert mr.resolve("MobileNet-V2").id == "mobilenetv2_100"
    assert mr.resolve("SqueezeNet 1.1").id == "squeezenet1_1"
    assert mr.resolve("resnet50.a1_in1k").id == "resnet50"
    assert mr.canonical_id("Resnet50.TV_IN1K") == "resnet50"


def test_typo_raises_with_close_matches() -> None:
    pattern = r"unknown model 'resnt50'; close matches: .*resnet50"
    with pytest.raises(mr.UnknownModelError, match=pattern):
        mr.resolve("resnt50")
    with pytest.raises(ValueError):  # UnknownModelError is a ValueError for the CLI
        mr.resolve("definitely-not-a-model")


def test_timm_names_outside_the_catalogue_are_their_own_id() -> None:
    assert mr.canonical_id("tf_efficientnet_b0.ns_jft_in1k") == "tf_efficientnet_b0"
    assert mr.canonical_id("vit_small_patch16_224") == "vit_small_patch16_224"
    with pytest.raises(mr.UnknownModelError):
        mr.canonical_id("not a model name!")


def test_no_foreign_architecture_is_captured_by_an_alias() -> None:
    """Every timm/torchvision name maps to itself unless an entry declares it."""
    timm = pytest.importorskip("timm")
    tv_models = pytest.importorskip("torchvision.models")
    declared = {
        s.lower()
        for e in mr.model_set("all")
        for s in (e.id, e.timm_name, e.torchvision_name, *e.aliases, *e.aihub_dirs)
        if s
    }
    names = set(timm.list_models()) | set(tv_models.list_models(module=tv_models))
    captured = [n for n in sorted(names) if n not in declared and mr.canonical_id(n) != n]
    assert captured == []


def test_seed13_ids_families_and_builders() -> None:
    seed = mr.model_set("seed13")
    assert {e.id: e.family for e in seed} == SEED13
    assert all(e.builder for e in seed)
    assert mr.resolve("squeezenet1_1").builder == "torchvision:squeezenet1_1"
    assert all(e.builder.startswith("timm:") for e in seed if e.id != "squeezenet1_1")


def test_catalogue_fields_are_consistent() -> None:
    entries = mr.model_set("all")
    assert len({e.id for e in entries}) == len(entries) == len(mr.list_models())
    for e in entries:
        assert e.family in mr.FAMILIES
        assert e.top1 is None or 50.0 < e.top1 < 90.0, e.id
        assert (e.top1 is None) == (e.top1_source == ""), e.id
        assert e.timm_name is None or e.builder == f"timm:{e.timm_name}", e.id
        # The catalogue and the pattern rules must agree, or analyses would split families.
        assert mr.family_from_rules(e.id) == e.family, e.id


def test_params_match_aihub_model_cards(shared_data: Path) -> None:
    yaml = pytest.importorskip("yaml")
    # Cards whose count disagrees with both implementations (documented in the catalogue).
    card_errors = {"beit", "resnext50_quantized"}
    for card in sorted((shared_data / "aihub" / "info").glob("*.yaml")):
        details = yaml.safe_load(card.read_text()).get("technical_details", {})
        text = str(details.get("Number of parameters", "")).strip()
        if card.stem in card_errors or not text.endswith("M"):
            continue
        entry = mr.resolve(card.stem)
        assert entry.params_m == pytest.approx(float(text[:-1]), rel=0.02), card.stem


def test_model_set_lists_and_errors() -> None:
    assert [e.id for e in mr.model_set("resnet50, MobileNet-V2 ,resnet50")] == [
        "resnet50",
        "mobilenetv2_100",
    ]
    assert len(mr.model_set("ALL")) == len(mr.list_models())
    assert {e.id for e in mr.model_set("aihub")} >= {"googlenet", "openai_clip", "mobilevit_s"}
    assert "mobilevit_xxs" not in {e.id for e in mr.model_set("aihub")}
    with pytest.raises(mr.UnknownModelError):
        mr.model_set(" , ")
    with pytest.raises(mr.UnknownModelError):
        mr.model_set("resnet50,resnt50")
    assert mr.list_models("swin*") == [
        "swin_base_patch4_window7_224",
        "swin_small_patch4_window7_224",
        "swin_tiny_patch4_window7_224",
    ]


def test_register_rejects_duplicates_and_bad_entries() -> None:
    before = mr.list_models()
    clash = mr.ModelEntry(id="my_net", display_name="x", builder=None, input_size=224,
                          family="hybrid", aliases=("ResNet50",))
    with pytest.raises(ValueError, match="already names 'resnet50'"):
        mr.register_model(clash)
    assert mr.list_models() == before
    with pytest.raises(ValueError, match="family"):
        mr.ModelEntry(id="x", display_name="x", builder=None, input_size=224, family="cnn")
    with pytest.raises(ValueError, match="builder"):
        mr.ModelEntry(id="x", display_name="x", builder="keras:x", input_size=224,
                      family="hybrid")
    with pytest.raises(mr.BuilderUnavailableError):
        mr.resolve("openai_clip").build()


@given(st.text(max_size=40))
def test_resolve_arbitrary_text_returns_entry_or_unknown(text: str) -> None:
    try:
        entry = mr.resolve(text)
    except mr.UnknownModelError as error:
        assert "unknown model" in str(error)
    else:
        assert isinstance(entry, mr.ModelEntry)
    assert mr.family_of(text) in mr.FAMILIES
    try:
        assert isinstance(mr.canonical_id(text), str)
    except mr.UnknownModelError:
        pass
