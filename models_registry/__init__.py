"""What a model is: one catalogue entry per network, found under any name a source uses.

>>> from models_registry import resolve, canonical_id, family_of
>>> resolve("mobilenet_v2_quantized").id
'mobilenetv2_100'
>>> canonical_id("resnet50.a1_in1k"), family_of("resnet50")
('resnet50', 'standard_cnn')
"""

from models_registry._registry import (
    UnknownModelError,
    canonical_id,
    family_of,
    list_models,
    model_set,
    register_model,
    resolve,
    set_names,
)
from models_registry.entry import BuilderUnavailableError, ModelEntry
from models_registry.families import FAMILIES, FAMILY_RULES, family_from_rules

from models_registry import catalogue as _catalogue  # noqa: E402,F401  (registers the entries)

__all__ = [
    "FAMILIES",
    "FAMILY_RULES",
    "BuilderUnavailableError",
    "ModelEntry",
    "UnknownModelError",
    "canonical_id",
    "family_from_rules",
    "family_of",
    "list_models",
    "model_set",
    "register_model",
    "resolve",
    "set_names",
]
