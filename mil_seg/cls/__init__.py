"""MMPretrain adapter: registers the GML core and the classification
modules (head, classifier, losses, long-tailed datasets, metric) into the
``mmpretrain`` registries."""
from mmpretrain.registry import MODELS

from ..gml import REGISTERED_MODULES

# The core knows no toolbox; each adapter registers it where its configs
# build from.
for _core_module in REGISTERED_MODULES:
    MODELS.register_module(module=_core_module)

from . import datasets, evaluation, models  # noqa: F401,E402
