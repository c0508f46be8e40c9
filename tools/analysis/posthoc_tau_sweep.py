"""Evaluate a segmentation checkpoint at several inference prior strengths.

    python tools/analysis/posthoc_tau_sweep.py CONFIG CHECKPOINT \
        [--taus -0.5 -0.25 0 0.25] [--prior FILE] [--out FILE.json] \
        [--cfg-options KEY=VALUE ...]

A logit-adjusted model (GML, LA-CE) predicts the balanced posterior: it
favours rare classes, which raises their recall and, under IoU, also their
false positives. At inference this tool adds ``-tau * log pi`` to the
logits of the decode head's classifier ``conv_seg`` (any mmseg head that
has one; for a ``GMLHead`` on top of its own ``posthoc_tau``) and runs the
config's test loop and metric once per tau: ``tau = 0`` is the model as
trained, ``tau > 0`` favours the tail further,
``tau < 0`` moves back toward the training prior (``tau = -1`` undoes the
logit adjustment). The prior is ``--prior`` (a ClassPrior JSON file or a
shipped name), else the test evaluator's ``prior``.

Choose tau on data held out from training when the result is reported on a
test set; set it in a GML config as ``model.decode_head.posthoc_tau``.
Prints one row per tau (mIoU, head / body / tail, aAcc); ``--out`` writes
them as JSON.
"""
import argparse
import json
import os
import os.path as osp

import torch.nn as nn
from mmengine.config import Config
from mmengine.runner import Runner

import mil_seg  # noqa: F401  (compat layer and registration)
from mil_seg.gml import ClassPrior, build_class_prior
from mil_seg.launch import (UserError, add_common_arguments,
                            load_evaluation_config, run_guarded)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Evaluate a checkpoint at several post-hoc prior '
        'strengths')
    add_common_arguments(parser)
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--taus',
        type=float,
        nargs='+',
        default=[-1.0, -0.75, -0.5, -0.25, 0.0, 0.25],
        help='strengths to evaluate (default: -1 -0.75 -0.5 -0.25 0 0.25)')
    parser.add_argument(
        '--prior',
        help='ClassPrior JSON file or shipped prior name (default: the test '
        "evaluator's prior)")
    parser.add_argument('--out', help='write the rows (JSON) to this file')
    return parser.parse_args()


def load_prior(cfg: Config, prior_arg: str, num_classes: int) -> ClassPrior:
    """The class prior whose log is subtracted, from --prior or the
    evaluator."""
    source = prior_arg or cfg.test_evaluator.get('prior')
    if source is None:
        raise UserError(
            'no class prior: pass --prior FILE or set test_evaluator.prior')
    return build_class_prior(source, num_classes)


def main() -> None:
    args = parse_args()
    cfg = load_evaluation_config(args)
    runner = Runner.from_cfg(cfg)
    model = getattr(runner.model, 'module', runner.model)
    head = getattr(model, 'decode_head', None)
    if head is None:
        raise UserError('posthoc_tau_sweep.py needs a segmentor with a '
                        'decode_head')
    if isinstance(head, nn.ModuleList):
        head = head[-1]  # cascade: the last stage gives the prediction
    prior = load_prior(cfg, args.prior, head.num_classes)

    tau = 0.0

    def adjust(_module, _inputs, logits):
        if tau == 0.0 or _module.training:
            return logits
        return prior.adjust(logits, -tau)

    # mmseg heads call their own forward directly (no hooks there); their
    # classifier conv_seg is called as a module. A per-class constant added
    # before the final bilinear resize is the same constant after it.
    classifier = getattr(head, 'conv_seg', None)
    if not isinstance(classifier, nn.Module):
        raise UserError(
            f'{type(head).__name__} has no conv_seg classifier to adjust')
    handle = classifier.register_forward_hook(adjust)
    rows = []
    try:
        for tau in args.taus:
            metrics = runner.test()
            rows.append(dict(tau=tau, **{k: float(v)
                                         for k, v in metrics.items()}))
    finally:
        handle.remove()

    keys = [k for k in ('mIoU', 'mIoU_head', 'mIoU_body', 'mIoU_tail',
                        'mAcc', 'aAcc') if k in rows[0]]
    print('\n| tau | ' + ' | '.join(keys) + ' |')
    print('|---|' + '---|' * len(keys))
    for row in rows:
        print(f"| {row['tau']:g} | " +
              ' | '.join(f'{row[k]:.2f}' for k in keys) + ' |')
    if args.out and runner.rank == 0:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w', encoding='utf-8') as f:
            json.dump(rows, f, indent=1)


if __name__ == '__main__':
    run_guarded(main, exit_distributed=True)
