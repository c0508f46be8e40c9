"""Test-only hooks, imported by the configs of the distributed end-to-end
tests (``custom_imports``): after every training step, each rank appends
the hashes of its GML state to ``<work_dir>/probe_rank<rank>.jsonl``:
queue, prior, temperature and SyncBN statistics (``QueueProbeHook``,
segmentation), or queue, prior, temperature, classifier, momentum key
encoder and the batch's sample ids (``ClsQueueProbeHook``,
classification); at the end of training, the hashes of each rank's whole
model state (``FinalStateProbeHook``)."""
import hashlib
import json
import os.path as osp

from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS
from mmpretrain.registry import HOOKS as CLS_HOOKS


def digest(tensor) -> str:
    return hashlib.sha1(tensor.detach().cpu().contiguous().numpy().tobytes()
                        ).hexdigest()


def gml_state(head) -> dict:
    """Hashes of the GML state both tasks' heads hold."""
    state = {
        f'queue.{name}': digest(buffer)
        for name, buffer in head.contrast.queue.named_buffers()
    }
    state['prior.counts'] = digest(head.prior.counts)
    state['log_temperature'] = digest(head.loss_gml.log_temperature)
    state['num_pushed'] = int(head.contrast.queue.num_pushed.sum())
    return state


def append_state(runner, state: dict) -> None:
    """One line of this rank's probe file for the step just finished."""
    state['iter'] = runner.iter + 1
    path = osp.join(runner.work_dir, f'probe_rank{get_rank()}.jsonl')
    with open(path, 'a') as f:
        f.write(json.dumps(state) + '\n')


@HOOKS.register_module()
class QueueProbeHook(Hook):

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        state = gml_state(model.decode_head)
        state['backbone.bn_running_mean'] = digest(
            model.backbone.stem[1].running_mean)
        state['sync_bn'] = type(model.backbone.stem[1]).__name__
        append_state(runner, state)


@CLS_HOOKS.register_module()
class ClsQueueProbeHook(Hook):

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        head = model.head
        state = gml_state(head)
        state['fc'] = digest(head.fc.weight)
        state['key_encoder'] = digest(
            model.key_encoder.module.backbone.conv1.weight)
        state['queue_ids'] = sorted(
            int(i) for i in head.contrast.queue.sample_ids if i >= 0)
        state['batch_ids'] = [
            int(s.metainfo['sample_idx']) for s in data_batch['data_samples']
        ]
        append_state(runner, state)


@HOOKS.register_module()
class FinalStateProbeHook(Hook):
    """At the end of training, each rank writes the hashes of its whole
    model state (every parameter and buffer) to
    ``<work_dir>/final_rank<rank>.json``."""

    def after_train(self, runner):
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        state = {
            name: digest(tensor)
            for name, tensor in model.state_dict().items()
        }
        path = osp.join(runner.work_dir, f'final_rank{get_rank()}.json')
        with open(path, 'w') as f:
            json.dump(state, f)
