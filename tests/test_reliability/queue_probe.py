"""A test-only hook, imported by the distributed e2e test's config
(``custom_imports``): after every training step, each rank appends the
hashes of its queue, prior, temperature and SyncBN statistics to
``<work_dir>/probe_rank<rank>.jsonl``."""
import hashlib
import json
import os.path as osp

from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS


def digest(tensor) -> str:
    return hashlib.sha1(tensor.detach().cpu().contiguous().numpy().tobytes()
                        ).hexdigest()


@HOOKS.register_module()
class QueueProbeHook(Hook):

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        head = model.decode_head
        state = {
            f'queue.{name}': digest(buffer)
            for name, buffer in head.contrast.queue.named_buffers()
        }
        state['prior.counts'] = digest(head.prior.counts)
        state['log_temperature'] = digest(head.loss_gml.log_temperature)
        state['backbone.bn_running_mean'] = digest(
            model.backbone.stem[1].running_mean)
        state['sync_bn'] = type(model.backbone.stem[1]).__name__
        state['num_pushed'] = int(head.contrast.queue.num_pushed.sum())
        state['iter'] = runner.iter + 1
        path = osp.join(runner.work_dir, f'probe_rank{get_rank()}.jsonl')
        with open(path, 'a') as f:
            f.write(json.dumps(state) + '\n')
