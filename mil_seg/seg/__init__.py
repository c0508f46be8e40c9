"""MMSegmentation adapter: registers the GML core and the segmentation
modules (decode head, pixel loss, datasets, long-tail metric) into the
``mmseg`` registries."""
from mmseg.registry import MODELS

from .. import gml, losses

# The core and the baselines know no toolbox; each adapter registers them
# where its configs build from.
for _core_module in gml.REGISTERED_MODULES + losses.REGISTERED_MODULES:
    MODELS.register_module(module=_core_module)

from . import datasets, evaluation, models  # noqa: F401,E402
