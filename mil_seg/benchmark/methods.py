"""The methods the benchmark compares: their configs, their main knobs and
how a method is trained (one config, two stages, or the checkpoints of
another method evaluated differently).

A method is named as its configs are: ``{segmentor}-{method}_...`` under
the package's configs (:data:`DEFAULT_PATTERN`, relative to
:func:`config_root`).
"""
import os
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple

#: A method's config, relative to :func:`config_root` (or a path of the
#: user's), with ``{segmentor}`` and ``{method}``.
DEFAULT_PATTERN = osp.join('configs', 'gml_seg', '{segmentor}-{method}_'
                           'r18-tiny-d8_1xb8-1k_camvid-240x180.py')


def config_root() -> str:
    """The folder the package's configs are found under: ``mil_seg/.mim``
    (it holds ``configs/``), in a wheel as in an editable install (where it
    links the repository's ``configs/``).

    Returns:
        str: The folder; a row of a result file names its config relative
        to it (``configs/gml_seg/...``), as relative to the repository.
    """
    package = osp.dirname(osp.dirname(osp.abspath(__file__)))
    mim = osp.join(package, '.mim')
    if osp.isdir(osp.join(mim, 'configs')):
        return mim
    # a source tree that was never installed: the repository's configs
    return osp.dirname(package)


@dataclass(frozen=True)
class Knob:
    """A method's main hyper-parameter, tuned on the held-out split.

    Attributes:
        name (str): What it is, for the table.
        key (str): Its dotted config key.
        values (tuple): The values tried (three at most, the same number for
            every method, so no method gets more chances than another;
            widened past a chosen edge by one rule for every method,
            :func:`~.tuning.past_edge`).
        bounds (tuple): The range the knob's values lie in, (low, high),
            None where unbounded: ``--knob-values`` outside it are refused;
            a grid widened toward a bound approaches it, never reaches it
            (a grid ending at a bound is not widened there). Defaults to
            (0.0, None) (a positive strength, scale or weight).
    """

    name: str
    key: str
    values: Tuple[float, ...]
    bounds: Tuple[Optional[float], Optional[float]] = (0.0, None)


@dataclass(frozen=True)
class Method:
    """One method of the benchmark.

    Attributes:
        label (str): Its row label.
        knob (Knob, optional): Its main knob; None when it has none.
        inherits (tuple): Methods whose chosen knob values it takes (a
            combination), instead of or beside a knob of its own.
        stages (tuple): The config names it trains, in order, when they are
            not its own name: each later stage is given the previous
            stage's final checkpoint at ``checkpoint_key``; the last stage
            is evaluated, and the method's step time is the sum of the
            stages' (each trains the whole budget), its memory their peak.
        checkpoint_key (str, optional): The config key of a later stage
            that takes the previous stage's checkpoint.
        evaluates (str, optional): A method whose trained checkpoints this
            one evaluates at other settings (its knob only changes
            inference), training nothing itself: its config, values and
            costs are that method's.
    """

    label: str
    knob: Optional[Knob] = None
    inherits: Tuple[str, ...] = field(default_factory=tuple)
    stages: Tuple[str, ...] = field(default_factory=tuple)
    checkpoint_key: Optional[str] = None
    evaluates: Optional[str] = None


_TAU_VALUES = (0.5, 0.75, 1.0)
_GML_TAU = Knob('prior strength tau', 'model.decode_head.prior.tau',
                _TAU_VALUES)
#: RFS's threshold is a fraction of the images: the grid ends at its bound.
_RFS = Knob('repeat threshold t', 'train_dataloader.dataset.threshold',
            (0.5, 0.75, 1.0), bounds=(0.0, 1.0))
#: Inference prior strength: ``logits - t * log pi`` (GMLHead's
#: ``posthoc_tau``); 0 is the model as trained, below 0 back toward the
#: training prior.
_POSTHOC_TAU = Knob('post-hoc prior strength', 'model.decode_head.posthoc_tau',
                    (-0.5, -0.25, 0.0), bounds=(None, None))
#: The methods, by the name their configs carry.
METHODS: Dict[str, Method] = {
    'ce': Method('CE'),
    'lace': Method('LA-CE', Knob('prior strength tau',
                                 'model.decode_head.loss_decode.prior.tau',
                                 _TAU_VALUES)),
    'cwce': Method('Class-weighted CE', Knob(
        'weight exponent', 'model.decode_head.loss_decode.exponent',
        (0.25, 0.5, 1.0))),
    # the same weights at CE's loss scale: mean 1 under the prior, the
    # weighted sum over the pixels (MMSegmentation's averaging)
    'cwce-prior': Method("Class-weighted CE (CE's loss scale)", Knob(
        'weight exponent', 'model.decode_head.loss_decode.exponent',
        (0.25, 0.5, 1.0))),
    'focal': Method('Focal', Knob('gamma',
                                  'model.decode_head.loss_decode.gamma',
                                  (1.0, 2.0, 3.0))),
    'ohem': Method('OHEM', Knob('probability threshold',
                                'model.decode_head.sampler.thresh',
                                (0.5, 0.7, 0.9), bounds=(0.0, 1.0))),
    'lovasz': Method('Lovasz-softmax'),
    'blv': Method('BLV', Knob('sigma', 'model.decode_head.loss_decode.sigma',
                              (2.0, 4.0, 6.0))),
    'seesaw': Method('Seesaw', Knob('mitigation p',
                                    'model.decode_head.loss_decode.p',
                                    (0.4, 0.8, 1.2))),
    'rr': Method('Region Rebalance', Knob('region weight',
                                          'model.decode_head.region_weight',
                                          (0.5, 1.0, 2.0))),
    'rfs': Method('CE + repeat-factor sampling', _RFS),
    'gml': Method('GML (per-class T_c)', _GML_TAU),
    'gml-shared': Method('GML (shared T_c)', _GML_TAU),
    'gml-rfs': Method('GML + repeat-factor sampling',
                      inherits=('gml', 'rfs')),
    # GML's contrastive term on class-weighted CE (its supervised term not
    # logit-adjusted): the exponent tuned like cwce's, the prior strength
    # (the contrastive term's) GML's chosen one
    'gml-cw': Method('GML + class-weighted supervised term', Knob(
        'weight exponent', 'model.decode_head.loss_gml.class_weight_exponent',
        (0.25, 0.5, 1.0)), inherits=('gml', )),
    # the contrastive term on LA-CE's linear classifier: an ablation
    'gml-linear': Method('GML (linear classifier)', _GML_TAU),
    'gml-2stage': Method('GML two stages (student; time of both)',
                         stages=('gml-teacher', 'gml-student'),
                         checkpoint_key='model.teacher.checkpoint'),
    'gml-posthoc': Method('GML, post-hoc prior strength', _POSTHOC_TAU,
                          inherits=('gml', ), evaluates='gml'),
}


def required_methods(name: str) -> Tuple[str, ...]:
    """The methods ``name`` needs in the same invocation (those it
    inherits values from or evaluates)."""
    method = METHODS[name]
    needed = method.inherits + ((method.evaluates, )
                                if method.evaluates else ())
    return tuple(dict.fromkeys(needed))


def config_names(name: str) -> Tuple[str, ...]:
    """The config names a method trains or evaluates (``{method}`` of the
    pattern), in order."""
    method = METHODS[name]
    if method.evaluates:
        return config_names(method.evaluates)
    return method.stages or (name, )


def config_path(pattern: str, segmentor: str, config_name: str) -> str:
    """Path of a config of the pattern (it may not exist).

    Args:
        pattern (str): With ``{segmentor}`` and ``{method}``; a relative
            one is looked up under :func:`config_root`, then the working
            directory.
        segmentor (str): ``{segmentor}``.
        config_name (str): ``{method}``: a method's or a stage's name.

    Returns:
        str: An absolute path.
    """
    path = pattern.format(segmentor=segmentor, method=config_name)
    if osp.isabs(path):
        return path
    shipped = osp.join(config_root(), path)
    return shipped if osp.isfile(shipped) else osp.abspath(path)


def config_relpath(path: str) -> str:
    """A config as a result file names it: relative to
    :func:`config_root` (``configs/gml_seg/...``, the repository's layout)
    for a shipped config, else to the working directory."""
    root = config_root()
    relative = osp.relpath(path, root)
    if relative.startswith(os.pardir):
        relative = osp.relpath(path)
    return relative.replace(os.sep, '/')
