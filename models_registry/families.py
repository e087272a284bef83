"""Architecture families, assigned from model names by an ordered table of rules.

Families group networks whose latency behaves alike on accelerators, so that analyses can ask
"do FLOPs rank transformers as well as they rank mobile CNNs?". The split follows the operators
that dominate run time, not the paper a model came from:

``standard_cnn``
    Full-width convolutional networks built from dense 3x3 / bottleneck convolutions: ResNet and
    its many variants (ResNeXt, Wide-ResNet, SE/ECA/SK/GC-ResNets, ResNeSt, Res2Net, ResNet-RS,
    ResNetV2/BiT, NF-ResNets and NFNets), VGG, DenseNet, Inception/GoogLeNet/Xception, DLA, DPN,
    RegNetX/Y, HRNet, VoVNet, DarkNet/CSP nets, RepVGG, TResNet, NASNet-A-Large/PNASNet (large
    NAS cell nets). Also modern *attention-free* "MetaFormer"-style convnets - ConvNeXt,
    InceptionNeXt, ConvFormer, PoolFormer, MambaOut (gated CNN, no SSM), FocalNet (focal
    modulation = depthwise convs) and ConvMixer: they contain no self-attention, so they are
    convnets whatever their macro design.
``mobile_cnn``
    Convnets designed for phones: depthwise-separable / inverted-residual / channel-shuffle /
    fire-module blocks at low FLOPs: MobileNet V1-V4 (conv variants), MNASNet, FBNet, ShuffleNet,
    SqueezeNet, GhostNet, LCNet, MixNet, HardCoReNAS, ReXNet, MobileOne, RepViT (a pure CNN
    despite its name), StarNet, FasterNet.
``efficient_cnn``
    Compound-scaled MBConv networks of the EfficientNet line: EfficientNet (B0-B8, L2, Lite,
    EdgeTPU-S/M/L "es/em/el", CondConv, X/H), EfficientNetV2 and TinyNet. Decision: the
    MBConv-based, EfficientNet-style RegNetZ and NF-RegNet-B* are put here too; NFNets (F0-F7,
    L*) are ResNet-like and stay in ``standard_cnn``.
``transformer``
    Networks whose token mixing is global self-attention over patches: ViT (incl. CLIP/SigLIP/
    DINO towers), DeiT/DeiT-III, BEiT, EVA, CaiT, XCiT, PiT, CrossViT, TNT, Twins, PVT, Swin,
    VOLO, NesT, MViT, Hiera, DaViT, AIMv2. Decision: attention-free isotropic patch-token mixers
    (MLP-Mixer, ResMLP, gMLP) and Sequencer (BiLSTM token mixing) are put here as well - they
    share the patchify-then-mix macro design and the large GEMMs that dominate their latency.
``hybrid``
    Networks that combine convolutional stages or blocks with self-attention: LeViT,
    MobileViT (v1/v2), EfficientFormer (v1/v2), EfficientViT (MIT and MSRA), CoAtNet, MaxViT,
    ConViT, FastViT, NextViT, EdgeNeXt, SwiftFormer, CAFormer, CoaT, Visformer, GC ViT, TinyViT,
    ViTamin, SHViT, MobileNetV4-Hybrid, MobileNetV5, BoTNet/HaloNet/LambdaNet (ResNets with
    attention blocks) and ViTs on a ResNet stem (``vit_*_r50_s16``, ``vit_*_resnet50d``).
``unknown``
    Nothing matched: callers must treat the family as missing, not guess.

A name is lower-cased, its pretrained tag (``.a1_in1k``) and AI Hub precision suffix removed,
and the weight-source prefixes that timm once used as separate names (``tf_``, ``tv_``,
``gluon_``, ``legacy_``, ``ig_``, ``ssl_``, ``swsl_``, ``jx_``, ``adv_``, ``ens_adv_``, ``dm_``)
stripped before matching. Rules are tried in order and the first match wins, so narrow rules
(``efficientvit*``) precede broad ones (``*efficientnet*``, ``vit_*``).
"""

from __future__ import annotations

import fnmatch
import re
from typing import Final

FAMILIES: Final[tuple[str, ...]] = (
    "standard_cnn",
    "mobile_cnn",
    "efficient_cnn",
    "transformer",
    "hybrid",
    "unknown",
)

# Weight-source prefixes that older timm releases baked into architecture names.
SOURCE_PREFIXES: Final[tuple[str, ...]] = (
    "ens_adv_", "adv_", "tf_", "tv_", "gluon_", "legacy_", "ig_", "ssl_", "swsl_", "jx_", "dm_",
)

# AI Hub folder suffixes naming another precision of the same network.
PRECISION_SUFFIX: Final[re.Pattern[str]] = re.compile(r"(_w\d+a\d+)?_quantized$")

# Ordered (fnmatch pattern, family) rules; first match wins. Keep narrow patterns first.
FAMILY_RULES: Final[tuple[tuple[str, str], ...]] = (
    # timm's tiny unit-test networks are not real architectures: keep them out of analyses.
    ("test_*", "unknown"),
    # ViTs on a convolutional (ResNet) stem are hybrids; must precede the plain "vit_*" rule.
    ("vit_*_r[0-9]*_s[0-9]*", "hybrid"),
    ("vit_*_resnet*", "hybrid"),
    ("vit_tiny_r_s*", "hybrid"),
    ("vitamin*", "hybrid"),
    # Conv + attention hybrids (before the transformer/"*vit*" and efficientnet rules).
    ("levit*", "hybrid"),
    ("mobilevit*", "hybrid"),
    ("semobilevit*", "hybrid"),
    ("mobile_vit*", "hybrid"),
    ("efficientvit*", "hybrid"),
    ("efficientformer*", "hybrid"),
    ("swiftformer*", "hybrid"),
    ("fastvit*", "hybrid"),
    ("tiny_vit*", "hybrid"),
    ("nextvit*", "hybrid"),
    ("convit*", "hybrid"),
    ("maxvit*", "hybrid"),
    ("maxxvit*", "hybrid"),
    ("coatnet*", "hybrid"),
    ("coatnext*", "hybrid"),
    ("coat_*", "hybrid"),
    ("edgenext*", "hybrid"),
    ("caformer*", "hybrid"),
    ("visformer*", "hybrid"),
    ("gcvit*", "hybrid"),
    ("shvit*", "hybrid"),
    ("csatv*", "hybrid"),
    ("cvt*", "hybrid"),
    ("mobilenetv4_hybrid*", "hybrid"),
    ("mobilenetv5*", "hybrid"),
    ("*botnet*", "hybrid"),
    ("*botnext*", "hybrid"),
    ("*halonet*", "hybrid"),
    ("*halonext*", "hybrid"),
    ("haloregnetz*", "hybrid"),
    ("lambda_*", "hybrid"),
    # Transformers and isotropic patch-token mixers.
    ("vit", "transformer"),
    ("vit_*", "transformer"),
    ("deit*", "transformer"),
    ("beit*", "transformer"),
    ("eva*", "transformer"),
    ("cait*", "transformer"),
    ("xcit*", "transformer"),
    ("pit_*", "transformer"),
    ("crossvit*", "transformer"),
    ("tnt_*", "transformer"),
    ("twins_*", "transformer"),
    ("pvt*", "transformer"),
    ("swin*", "transformer"),
    ("volo*", "transformer"),
    ("nest_*", "transformer"),
    ("mvit*", "transformer"),
    ("hiera*", "transformer"),
    ("sam2_hiera*", "transformer"),
    ("samvit*", "transformer"),
    ("aimv2*", "transformer"),
    ("naflexvit*", "transformer"),
    ("flexivit*", "transformer"),
    ("davit*", "transformer"),
    ("*clip_vit*", "transformer"),
    ("openai_clip*", "transformer"),
    ("mixer_*", "transformer"),
    ("resmlp*", "transformer"),
    ("gmlp*", "transformer"),
    ("gmixer*", "transformer"),
    ("sequencer*", "transformer"),
    # EfficientNet line (after efficientvit/efficientformer above).
    ("*efficientnet*", "efficient_cnn"),
    ("tinynet*", "efficient_cnn"),
    ("regnetz*", "efficient_cnn"),
    ("nf_regnet*", "efficient_cnn"),
    # Mobile convnets.
    ("mobilenet*", "mobile_cnn"),
    ("*mnasnet*", "mobile_cnn"),
    ("spnasnet*", "mobile_cnn"),
    ("fbnet*", "mobile_cnn"),
    ("shufflenet*", "mobile_cnn"),
    ("squeezenet*", "mobile_cnn"),
    ("*ghostnet*", "mobile_cnn"),
    ("lcnet*", "mobile_cnn"),
    ("mixnet*", "mobile_cnn"),
    ("hardcorenas*", "mobile_cnn"),
    ("rexnet*", "mobile_cnn"),
    ("mobileone*", "mobile_cnn"),
    ("repvit*", "mobile_cnn"),
    ("starnet*", "mobile_cnn"),
    ("fasternet*", "mobile_cnn"),
    # Full-width convnets, including attention-free MetaFormer-style ones.
    ("*resnet*", "standard_cnn"),
    ("*resnext*", "standard_cnn"),
    ("res2ne*", "standard_cnn"),
    ("resnest*", "standard_cnn"),
    ("*senet*", "standard_cnn"),
    ("*nfnet*", "standard_cnn"),
    ("vgg*", "standard_cnn"),
    ("alexnet*", "standard_cnn"),
    ("*densenet*", "standard_cnn"),
    ("inception*", "standard_cnn"),
    ("googlenet*", "standard_cnn"),
    ("xception*", "standard_cnn"),
    ("dla*", "standard_cnn"),
    ("dpn*", "standard_cnn"),
    ("regnet*", "standard_cnn"),
    ("convnext*", "standard_cnn"),
    ("convformer*", "standard_cnn"),
    ("poolformer*", "standard_cnn"),
    ("mambaout*", "standard_cnn"),
    ("focalnet*", "standard_cnn"),
    ("convmixer*", "standard_cnn"),
    ("*vovnet*", "standard_cnn"),
    ("hrnet*", "standard_cnn"),
    ("selecsls*", "standard_cnn"),
    ("tresnet*", "standard_cnn"),
    ("repvgg*", "standard_cnn"),
    ("gernet*", "standard_cnn"),
    ("*darknet*", "standard_cnn"),
    ("cs3*", "standard_cnn"),
    ("hgnet*", "standard_cnn"),
    ("rdnet*", "standard_cnn"),
    ("nasnet*", "standard_cnn"),
    ("pnasnet*", "standard_cnn"),
    ("bat_resnext*", "standard_cnn"),
)


def normalize_name(name: str) -> str:
    """Lower-case ``name`` and drop the pretrained tag and any AI Hub precision suffix."""
    base = name.strip().lower().split(".", 1)[0]
    return PRECISION_SUFFIX.sub("", base)


def strip_source_prefix(name: str) -> str:
    """Remove weight-source prefixes (``tf_``, ``gluon_`` ...) that do not change the network."""
    stripped = True
    while stripped:
        stripped = False
        for prefix in SOURCE_PREFIXES:
            if name.startswith(prefix) and len(name) > len(prefix):
                name = name[len(prefix):]
                stripped = True
    return name


def family_from_rules(name: str) -> str:
    """Family of ``name`` by the pattern table alone (no catalogue lookup); ``unknown`` if none."""
    key = strip_source_prefix(normalize_name(name))
    for pattern, family in FAMILY_RULES:
        if fnmatch.fnmatchcase(key, pattern):
            return family
    return "unknown"
