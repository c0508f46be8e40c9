"""MMSegmentation adapter: registers the GML core and the segmentation
modules (decode head, pixel loss, datasets, long-tail metric) into the
``mmseg`` registries."""
from mmseg.registry import MODELS

from ..gml import REGISTERED_MODULES

# The core knows no toolbox; each adapter registers it where its configs
# build from.
for _core_module in REGISTERED_MODULES:
    MODELS.register_module(module=_core_module)

from . import datasets, evaluation, models  # noqa: F401,E402
