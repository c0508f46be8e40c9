"""MMPretrain adapter: registers the GML core and the classification
modules (head, classifier, losses, long-tailed datasets, metric) into the
``mmpretrain`` registries."""
from mmpretrain.registry import MODELS

from .. import gml, losses

# The core and the baselines know no toolbox; each adapter registers them
# where its configs build from.
for _core_module in gml.REGISTERED_MODULES + losses.REGISTERED_MODULES:
    MODELS.register_module(module=_core_module)

from . import datasets, evaluation, models  # noqa: F401,E402
