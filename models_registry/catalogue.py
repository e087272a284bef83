"""The catalogue: every model that more than one source measures, declared exactly once.

Canonical id rule: when timm has the same network (same topology, same parameter count), the id
is the timm architecture name, so AI Hub (edge), timm benchmark (GPU/CPU) and local measurements
join; otherwise a readable torchvision-style name. Each mapping below carries a one-line reason;
parameter counts were checked by instantiating both implementations (``pretrained=False``) and
against the AI Hub model cards in ``shared/data/aihub/info/<dir>.yaml``.

``top1``: the timm ``results-imagenet.csv`` row of the first checkpoint in timm's default order
trained on ImageNet-1k only (no in21k/in22k/in12k/IG/YFCC/LAION/CLIP pretraining), at the
entry's ``input_size`` when evaluated there, else at the checkpoint's default resolution (the
``@<px>`` in ``top1_source``); torchvision's weight metadata where timm has no checkpoint.
Numbers are hard-coded so importing the registry never reads data files.
"""

from __future__ import annotations

from models_registry._registry import register_model
from models_registry.entry import ModelEntry

RESULTS = "timm results-imagenet.csv: "
TV_DOCS = "torchvision weights meta: "

# --------------------------------------------------------------------------- seed13
# AI Hub resnet18 = torchvision resnet18 == timm resnet18 (identical topology, 11.69M both).
register_model(ModelEntry(
    id="resnet18", display_name="ResNet-18", builder="timm:resnet18", input_size=224,
    family="standard_cnn", top1=71.504, top1_source=RESULTS + "resnet18.a1_in1k @224",
    params_m=11.690, aliases=("ResNet18",), aihub_dirs=("resnet18", "resnet18_quantized"),
    timm_name="resnet18", torchvision_name="resnet18", sets=("seed13",),
))
# AI Hub resnet50 = torchvision resnet50 == timm resnet50 (identical, 25.56M both).
register_model(ModelEntry(
    id="resnet50", display_name="ResNet-50", builder="timm:resnet50", input_size=224,
    family="standard_cnn", top1=80.382, top1_source=RESULTS + "resnet50.a1_in1k @224",
    params_m=25.557, aliases=("ResNet50",), aihub_dirs=("resnet50", "resnet50_quantized"),
    timm_name="resnet50", torchvision_name="resnet50", sets=("seed13",),
))
# AI Hub densenet121 = torchvision densenet121 == timm densenet121 (7.98M both; card 7.99M).
register_model(ModelEntry(
    id="densenet121", display_name="DenseNet-121", builder="timm:densenet121", input_size=224,
    family="standard_cnn", top1=75.574, top1_source=RESULTS + "densenet121.ra_in1k @224",
    params_m=7.979, aliases=("DenseNet121",),
    aihub_dirs=("densenet121", "densenet121_quantized"),
    timm_name="densenet121", torchvision_name="densenet121", sets=("seed13",),
))
# AI Hub mobilenet_v2 (tonylins' MobileNetV2, card 3.49M) == timm mobilenetv2_100 (3.50M).
register_model(ModelEntry(
    id="mobilenetv2_100", display_name="MobileNet-V2", builder="timm:mobilenetv2_100",
    input_size=224, family="mobile_cnn", top1=72.910,
    top1_source=RESULTS + "mobilenetv2_100.ra_in1k @224", params_m=3.505,
    aliases=("MobileNetV2", "mobilenetv2"),
    aihub_dirs=("mobilenet_v2", "mobilenet_v2_quantized"),
    timm_name="mobilenetv2_100", torchvision_name="mobilenet_v2", sets=("seed13",),
))
# AI Hub mobilenet_v3_large = torchvision mobilenet_v3_large == timm mobilenetv3_large_100
# (same blocks and head, 5.48M both).
register_model(ModelEntry(
    id="mobilenetv3_large_100", display_name="MobileNet-V3-Large",
    builder="timm:mobilenetv3_large_100", input_size=224, family="mobile_cnn", top1=75.784,
    top1_source=RESULTS + "mobilenetv3_large_100.ra_in1k @224", params_m=5.483,
    aliases=("MobileNetV3-Large", "mobilenetv3_large"),
    aihub_dirs=("mobilenet_v3_large", "mobilenet_v3_large_quantized"),
    timm_name="mobilenetv3_large_100", torchvision_name="mobilenet_v3_large", sets=("seed13",),
))
# MNASNet-B1 1.0: torchvision mnasnet1_0 == timm mnasnet_100 (4.38M both); not on AI Hub.
# (timm also registers the same net as mnasnet_b1: a separate benchmark row, so not an alias.)
register_model(ModelEntry(
    id="mnasnet_100", display_name="MNASNet-1.0", builder="timm:mnasnet_100", input_size=224,
    family="mobile_cnn", top1=74.672, top1_source=RESULTS + "mnasnet_100.rmsp_in1k @224",
    params_m=4.383, aliases=("MNASNet",),
    timm_name="mnasnet_100", torchvision_name="mnasnet1_0", sets=("seed13",),
))
# timm has no SqueezeNet: own id, torchvision builder (AI Hub card 1.24M = torchvision 1.235M).
register_model(ModelEntry(
    id="squeezenet1_1", display_name="SqueezeNet 1.1", builder="torchvision:squeezenet1_1",
    input_size=224, family="mobile_cnn", top1=58.178,
    top1_source=TV_DOCS + "SqueezeNet1_1_Weights.IMAGENET1K_V1 @224", params_m=1.235,
    aliases=("SqueezeNet-1.1", "SqueezeNet-1_1"),
    aihub_dirs=("squeezenet1_1", "squeezenet1_1_quantized"),
    torchvision_name="squeezenet1_1", sets=("seed13",),
))
# AI Hub efficientnet_b0 = torchvision efficientnet_b0 ~= timm efficientnet_b0 (same MBConv
# stack, 5.29M both; only training-time details such as stochastic depth differ).
register_model(ModelEntry(
    id="efficientnet_b0", display_name="EfficientNet-B0", builder="timm:efficientnet_b0",
    input_size=224, family="efficient_cnn", top1=77.698,
    top1_source=RESULTS + "efficientnet_b0.ra_in1k @224", params_m=5.289,
    aliases=("EfficientNetB0",), aihub_dirs=("efficientnet_b0",),
    timm_name="efficientnet_b0", torchvision_name="efficientnet_b0", sets=("seed13",),
))
# AI Hub inception_v3 = torchvision inception_v3 == timm inception_v3 (23.83M both; timm's
# tv_in1k weights are torchvision's). AI Hub profiles it at 224 (card), timm evaluates at 299.
register_model(ModelEntry(
    id="inception_v3", display_name="Inception-V3", builder="timm:inception_v3", input_size=224,
    family="standard_cnn", top1=77.472, top1_source=RESULTS + "inception_v3.tv_in1k @299",
    params_m=23.835, aliases=("InceptionV3",),
    aihub_dirs=("inception_v3", "inception_v3_quantized"),
    timm_name="inception_v3", torchvision_name="inception_v3", sets=("seed13",),
))
# AI Hub levit (card checkpoint LeViT-128S, 7.82M) == timm levit_128s (7.78M, same config).
register_model(ModelEntry(
    id="levit_128s", display_name="LeViT-128S", builder="timm:levit_128s", input_size=224,
    family="hybrid", top1=76.520, top1_source=RESULTS + "levit_128s.fb_dist_in1k @224",
    params_m=7.777, aliases=("LeViT",), aihub_dirs=("levit",),
    timm_name="levit_128s", sets=("seed13",),
))
register_model(ModelEntry(
    id="deit_tiny_patch16_224", display_name="DeiT-Tiny", builder="timm:deit_tiny_patch16_224",
    input_size=224, family="transformer", top1=72.190,
    top1_source=RESULTS + "deit_tiny_patch16_224.fb_in1k @224", params_m=5.717,
    aliases=("DeiT-Ti", "deit_tiny"), timm_name="deit_tiny_patch16_224", sets=("seed13",),
))
# AI Hub convnext_tiny = torchvision convnext_tiny == timm convnext_tiny (28.59M both).
register_model(ModelEntry(
    id="convnext_tiny", display_name="ConvNeXt-Tiny", builder="timm:convnext_tiny",
    input_size=224, family="standard_cnn", top1=82.066,
    top1_source=RESULTS + "convnext_tiny.fb_in1k @224", params_m=28.589,
    aliases=("ConvNextTiny",),
    aihub_dirs=("convnext_tiny", "convnext_tiny_w8a8_quantized", "convnext_tiny_w8a16_quantized"),
    timm_name="convnext_tiny", torchvision_name="convnext_tiny", sets=("seed13",),
))
# Not on AI Hub (AI Hub mobile_vit is MobileViT-S, below). timm evaluates it at 256.
register_model(ModelEntry(
    id="mobilevit_xxs", display_name="MobileViT-XXS", builder="timm:mobilevit_xxs",
    input_size=256, family="hybrid", top1=68.936,
    top1_source=RESULTS + "mobilevit_xxs.cvnets_in1k @256", params_m=1.272,
    timm_name="mobilevit_xxs", sets=("seed13",),
))

# --------------------------------------------------------------------------- AI Hub, timm twin
# AI Hub resnet101 = torchvision resnet101 == timm resnet101 (44.55M both).
register_model(ModelEntry(
    id="resnet101", display_name="ResNet-101", builder="timm:resnet101", input_size=224,
    family="standard_cnn", top1=81.950, top1_source=RESULTS + "resnet101.a1h_in1k @224",
    params_m=44.549, aliases=("ResNet101",), aihub_dirs=("resnet101", "resnet101_quantized"),
    timm_name="resnet101", torchvision_name="resnet101",
))
# AI Hub resnext50 = torchvision resnext50_32x4d == timm resnext50_32x4d (25.03M both; the
# resnext50_quantized card's 88.7M is a copy of resnext101's and is wrong).
register_model(ModelEntry(
    id="resnext50_32x4d", display_name="ResNeXt-50 32x4d", builder="timm:resnext50_32x4d",
    input_size=224, family="standard_cnn", top1=81.140,
    top1_source=RESULTS + "resnext50_32x4d.a1h_in1k @224", params_m=25.029,
    aliases=("ResNeXt50",), aihub_dirs=("resnext50", "resnext50_quantized"),
    timm_name="resnext50_32x4d", torchvision_name="resnext50_32x4d",
))
# AI Hub resnext101 = torchvision resnext101_32x8d == timm resnext101_32x8d (88.79M both).
register_model(ModelEntry(
    id="resnext101_32x8d", display_name="ResNeXt-101 32x8d", builder="timm:resnext101_32x8d",
    input_size=224, family="standard_cnn", top1=79.308,
    top1_source=RESULTS + "resnext101_32x8d.tv_in1k @224", params_m=88.791,
    aliases=("ResNeXt101",), aihub_dirs=("resnext101", "resnext101_quantized"),
    timm_name="resnext101_32x8d", torchvision_name="resnext101_32x8d",
))
# AI Hub wideresnet50 = torchvision wide_resnet50_2 == timm wide_resnet50_2 (68.88M both).
register_model(ModelEntry(
    id="wide_resnet50_2", display_name="Wide-ResNet-50-2", builder="timm:wide_resnet50_2",
    input_size=224, family="standard_cnn", top1=81.466,
    top1_source=RESULTS + "wide_resnet50_2.racm_in1k @224", params_m=68.883,
    aliases=("WideResNet50",), aihub_dirs=("wideresnet50", "wideresnet50_quantized"),
    timm_name="wide_resnet50_2", torchvision_name="wide_resnet50_2",
))
# AI Hub convnext_base = torchvision convnext_base == timm convnext_base (88.59M both).
register_model(ModelEntry(
    id="convnext_base", display_name="ConvNeXt-Base", builder="timm:convnext_base",
    input_size=224, family="standard_cnn", top1=83.838,
    top1_source=RESULTS + "convnext_base.fb_in1k @224", params_m=88.591,
    aliases=("ConvNextBase",), aihub_dirs=("convnext_base",),
    timm_name="convnext_base", torchvision_name="convnext_base",
))
# AI Hub dla102x is timm's own dla102x.in1k (card source_repo), 26.31M.
register_model(ModelEntry(
    id="dla102x", display_name="DLA-102-X", builder="timm:dla102x", input_size=224,
    family="standard_cnn", top1=78.516, top1_source=RESULTS + "dla102x.in1k @224",
    params_m=26.309, aihub_dirs=("dla102x",), timm_name="dla102x",
))
# AI Hub efficientformer (card checkpoint efficientformer_l1_300d, 12.3M) == timm
# efficientformer_l1 (12.29M).
register_model(ModelEntry(
    id="efficientformer_l1", display_name="EfficientFormer-L1",
    builder="timm:efficientformer_l1", input_size=224, family="hybrid", top1=80.502,
    top1_source=RESULTS + "efficientformer_l1.snap_dist_in1k @224", params_m=12.290,
    aihub_dirs=("efficientformer",), timm_name="efficientformer_l1",
))
# AI Hub efficientnet_b4 = torchvision efficientnet_b4 ~= timm efficientnet_b4 (19.34M both);
# AI Hub profiles it at 380 (card); timm's checkpoint is evaluated at 320 by default.
register_model(ModelEntry(
    id="efficientnet_b4", display_name="EfficientNet-B4", builder="timm:efficientnet_b4",
    input_size=380, family="efficient_cnn", top1=82.658,
    top1_source=RESULTS + "efficientnet_b4.ra2_in1k @320", params_m=19.342,
    aliases=("EfficientNetB4",), aihub_dirs=("efficientnet_b4",),
    timm_name="efficientnet_b4", torchvision_name="efficientnet_b4",
))
# AI Hub efficientnet_v2_s = torchvision efficientnet_v2_s ~= timm efficientnetv2_s (PyTorch
# padding, 21.46M both; tf_efficientnetv2_s differs by TF "same" padding). timm has no weights.
register_model(ModelEntry(
    id="efficientnetv2_s", display_name="EfficientNetV2-S", builder="timm:efficientnetv2_s",
    input_size=384, family="efficient_cnn", top1=84.228,
    top1_source=TV_DOCS + "EfficientNet_V2_S_Weights.IMAGENET1K_V1 @384", params_m=21.458,
    aliases=("EfficientNet-V2-s",), aihub_dirs=("efficientnet_v2_s",),
    timm_name="efficientnetv2_s", torchvision_name="efficientnet_v2_s",
))
# AI Hub efficientvit_b2_cls (MIT EfficientViT-B2, 24.3M) == timm efficientvit_b2 (24.33M).
register_model(ModelEntry(
    id="efficientvit_b2", display_name="EfficientViT-B2", builder="timm:efficientvit_b2",
    input_size=224, family="hybrid", top1=82.162,
    top1_source=RESULTS + "efficientvit_b2.r224_in1k @224", params_m=24.331,
    aliases=("EfficientViT-b2-cls",), aihub_dirs=("efficientvit_b2_cls",),
    timm_name="efficientvit_b2",
))
# AI Hub efficientvit_l2_cls (MIT EfficientViT-L2, 63.7M) == timm efficientvit_l2 (63.71M).
register_model(ModelEntry(
    id="efficientvit_l2", display_name="EfficientViT-L2", builder="timm:efficientvit_l2",
    input_size=224, family="hybrid", top1=85.046,
    top1_source=RESULTS + "efficientvit_l2.r224_in1k @224", params_m=63.707,
    aliases=("EfficientViT-l2-cls",), aihub_dirs=("efficientvit_l2_cls",),
    timm_name="efficientvit_l2",
))
# AI Hub mnasnet05 = torchvision mnasnet0_5 == timm mnasnet_050 (2.2185M both); timm has no
# weights for it, so top-1 is torchvision's.
register_model(ModelEntry(
    id="mnasnet_050", display_name="MNASNet-0.5", builder="timm:mnasnet_050", input_size=224,
    family="mobile_cnn", top1=67.734,
    top1_source=TV_DOCS + "MNASNet0_5_Weights.IMAGENET1K_V1 @224", params_m=2.219,
    aliases=("MNASNet05",), aihub_dirs=("mnasnet05",),
    timm_name="mnasnet_050", torchvision_name="mnasnet0_5",
))
# AI Hub mobile_vit (card 5.57M, apple/ml-cvnets) is MobileViT-S == timm mobilevit_s (5.58M),
# not mobilevit_xxs (1.27M). AI Hub profiles at 224 (card); timm evaluates at 256.
register_model(ModelEntry(
    id="mobilevit_s", display_name="MobileViT-S", builder="timm:mobilevit_s", input_size=224,
    family="hybrid", top1=78.298, top1_source=RESULTS + "mobilevit_s.cvnets_in1k @256",
    params_m=5.579, aliases=("Mobile-VIT",), aihub_dirs=("mobile_vit",),
    timm_name="mobilevit_s",
))
# AI Hub mobilenet_v3_small = torchvision mobilenet_v3_small == timm mobilenetv3_small_100.
register_model(ModelEntry(
    id="mobilenetv3_small_100", display_name="MobileNet-V3-Small",
    builder="timm:mobilenetv3_small_100", input_size=224, family="mobile_cnn", top1=67.636,
    top1_source=RESULTS + "mobilenetv3_small_100.lamb_in1k @224", params_m=2.543,
    aliases=("MobileNetV3-Small", "mobilenetv3_small"), aihub_dirs=("mobilenet_v3_small",),
    timm_name="mobilenetv3_small_100", torchvision_name="mobilenet_v3_small",
))
# AI Hub nasnet (card checkpoint nasnetalarge.tf_in1k, 88.7M) is timm nasnetalarge (88.75M);
# AI Hub profiles at 224 (card), timm evaluates at 331.
register_model(ModelEntry(
    id="nasnetalarge", display_name="NASNet-A-Large", builder="timm:nasnetalarge",
    input_size=224, family="standard_cnn", top1=82.638,
    top1_source=RESULTS + "nasnetalarge.tf_in1k @331", params_m=88.753,
    aliases=("NASNet",), aihub_dirs=("nasnet",), timm_name="nasnetalarge",
))
# AI Hub regnet = torchvision regnet_x_3_2gf (AI Hub model.py; card 15.3M) == timm regnetx_032
# (RegNetX-3.2GF, 15.30M both).
register_model(ModelEntry(
    id="regnetx_032", display_name="RegNetX-3.2GF", builder="timm:regnetx_032", input_size=224,
    family="standard_cnn", top1=80.916, top1_source=RESULTS + "regnetx_032.tv2_in1k @224",
    params_m=15.297, aliases=("RegNet",), aihub_dirs=("regnet", "regnet_quantized"),
    timm_name="regnetx_032", torchvision_name="regnet_x_3_2gf",
))
# AI Hub sequencer2d (card checkpoint sequencer2d_s, 27.6M) == timm sequencer2d_s (27.65M).
register_model(ModelEntry(
    id="sequencer2d_s", display_name="Sequencer2D-S", builder="timm:sequencer2d_s",
    input_size=224, family="transformer", top1=82.336,
    top1_source=RESULTS + "sequencer2d_s.in1k @224", params_m=27.652,
    aliases=("Sequencer2D",), aihub_dirs=("sequencer2d",), timm_name="sequencer2d_s",
))
# AI Hub swin_tiny = torchvision swin_t ~= timm swin_tiny_patch4_window7_224 (28.29M both; the
# card's 28.8M also counts something else, the topology is the same).
register_model(ModelEntry(
    id="swin_tiny_patch4_window7_224", display_name="Swin-Tiny",
    builder="timm:swin_tiny_patch4_window7_224", input_size=224, family="transformer",
    top1=81.388, top1_source=RESULTS + "swin_tiny_patch4_window7_224.ms_in1k @224",
    params_m=28.288, aliases=("swin_t", "SwinTiny"), aihub_dirs=("swin_tiny",),
    timm_name="swin_tiny_patch4_window7_224", torchvision_name="swin_t",
))
# AI Hub swin_small = torchvision swin_s ~= timm swin_small_patch4_window7_224 (49.61M both;
# card says 50.4M).
register_model(ModelEntry(
    id="swin_small_patch4_window7_224", display_name="Swin-Small",
    builder="timm:swin_small_patch4_window7_224", input_size=224, family="transformer",
    top1=83.228, top1_source=RESULTS + "swin_small_patch4_window7_224.ms_in1k @224",
    params_m=49.606, aliases=("swin_s", "SwinSmall"), aihub_dirs=("swin_small",),
    timm_name="swin_small_patch4_window7_224", torchvision_name="swin_s",
))
# AI Hub swin_base = torchvision swin_b ~= timm swin_base_patch4_window7_224 (87.77M both;
# card says 88.8M).
register_model(ModelEntry(
    id="swin_base_patch4_window7_224", display_name="Swin-Base",
    builder="timm:swin_base_patch4_window7_224", input_size=224, family="transformer",
    top1=83.604, top1_source=RESULTS + "swin_base_patch4_window7_224.ms_in1k @224",
    params_m=87.768, aliases=("swin_b", "SwinBase"), aihub_dirs=("swin_base",),
    timm_name="swin_base_patch4_window7_224", torchvision_name="swin_b",
))
# AI Hub vit = torchvision vit_b_16 == timm vit_base_patch16_224 (86.57M both).
register_model(ModelEntry(
    id="vit_base_patch16_224", display_name="ViT-B/16", builder="timm:vit_base_patch16_224",
    input_size=224, family="transformer", top1=79.154,
    top1_source=RESULTS + "vit_base_patch16_224.augreg_in1k @224", params_m=86.568,
    aliases=("ViT", "ViT-Base-16"), aihub_dirs=("vit", "vit_quantized"),
    timm_name="vit_base_patch16_224", torchvision_name="vit_b_16",
))
# AI Hub beit = HF microsoft/beit-base-patch16-224 (AI Hub model.py), the same unilm checkpoint
# timm ports as beit_base_patch16_224 (86.53M); the card's 92.0M does not match either count.
# No in1k-only checkpoint exists, so top-1 is the in22k-pretrained one AI Hub also uses.
register_model(ModelEntry(
    id="beit_base_patch16_224", display_name="BEiT-Base/16",
    builder="timm:beit_base_patch16_224", input_size=224, family="transformer", top1=85.238,
    top1_source=RESULTS + "beit_base_patch16_224.in22k_ft_in22k_in1k @224", params_m=86.531,
    aliases=("BEiT",), aihub_dirs=("beit",), timm_name="beit_base_patch16_224",
))

# --------------------------------------------------------------------------- AI Hub, no twin
# timm has no GoogLeNet. AI Hub exports torchvision googlenet without the aux heads (6.62M).
register_model(ModelEntry(
    id="googlenet", display_name="GoogLeNet", builder="torchvision:googlenet", input_size=224,
    family="standard_cnn", top1=69.778,
    top1_source=TV_DOCS + "GoogLeNet_Weights.IMAGENET1K_V1 @224", params_m=6.625,
    aliases=("inception_v1",), aihub_dirs=("googlenet", "googlenet_quantized"),
    torchvision_name="googlenet",
    builder_kwargs=(("aux_logits", False), ("init_weights", True)),
))
# timm has no ShuffleNet; AI Hub shufflenet_v2 is torchvision shufflenet_v2_x0_5 (1.37M).
register_model(ModelEntry(
    id="shufflenet_v2_x0_5", display_name="ShuffleNet-V2 0.5x",
    builder="torchvision:shufflenet_v2_x0_5", input_size=224, family="mobile_cnn",
    top1=60.552, top1_source=TV_DOCS + "ShuffleNet_V2_X0_5_Weights.IMAGENET1K_V1 @224",
    params_m=1.367, aliases=("Shufflenet-v2",),
    aihub_dirs=("shufflenet_v2", "shufflenet_v2_quantized"),
    torchvision_name="shufflenet_v2_x0_5",
))
# AI Hub openai_clip runs CLIP ViT-B/16 image AND text encoders (card: 150M); timm's
# vit_base_patch16_clip_224 is the image tower alone, so it is not the same network.
register_model(ModelEntry(
    id="openai_clip", display_name="OpenAI-CLIP ViT-B/16", builder=None, input_size=224,
    family="transformer", top1=None, top1_source="", params_m=150.0,
    aliases=("OpenAI-Clip",), aihub_dirs=("openai_clip",),
))
