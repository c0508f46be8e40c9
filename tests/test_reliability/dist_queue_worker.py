"""Run by test_distributed.py: GMLHead with SyncBN on 2 gloo ranks, or the
same head on one process with the concatenated batch.

    python dist_queue_worker.py OUT_DIR PORT     # 2 ranks
    python dist_queue_worker.py OUT_DIR single   # 1 process
"""
import os
import sys

import torch
import torch.distributed as torch_dist
import torch.multiprocessing as mp

NUM_CLASSES = 4
STEPS = 2
IMAGES = 4  # in all; each of the 2 ranks holds half


def batch(step: int):
    generator = torch.Generator().manual_seed(100 + step)
    inputs = torch.randn(IMAGES, 8, 8, 8, generator=generator)
    blocks = torch.randint(
        0, NUM_CLASSES + 1, (IMAGES, 4, 4), generator=generator)
    blocks[blocks == NUM_CLASSES] = 255
    labels = blocks.repeat_interleave(8, 1).repeat_interleave(8, 2)
    return inputs, labels


def build_head():
    import mil_seg  # noqa: F401
    from mmseg.registry import MODELS
    torch.manual_seed(0)
    return MODELS.build(
        dict(
            type='GMLHead',
            decoder=dict(
                type='FCNHead',
                in_channels=8,
                channels=8,
                num_convs=1,
                concat_input=False,
                num_classes=NUM_CLASSES,
                norm_cfg=dict(type='SyncBN'),
                dropout_ratio=0.0),
            prior=dict(
                type='ClassPrior',
                num_classes=NUM_CLASSES,
                counts=[8, 4, 2, 1]),
            embed_dim=4,
            queue=dict(size=2048),
            anchor_sampler=dict(
                type='ClassBalancedAnchorSampler',
                max_anchors_per_image=1024)))


def run(rank: int, world_size: int, out_dir: str) -> None:
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    head = build_head().train()
    states = []
    for step in range(STEPS):
        inputs, labels = batch(step)
        if world_size > 1:
            half = IMAGES // world_size
            inputs = inputs[rank * half:(rank + 1) * half]
            labels = labels[rank * half:(rank + 1) * half]
        samples = []
        for label in labels:
            sample = SegDataSample()
            sample.gt_sem_seg = PixelData(data=label[None])
            sample.set_metainfo(dict(img_shape=(32, 32), pad_shape=(32, 32)))
            samples.append(sample)
        losses = head.loss([inputs], samples, dict())
        sum(value for key, value in losses.items()
            if key.startswith('loss')).backward()
        state = {
            name: buffer.clone()
            for name, buffer in head.contrast.queue.named_buffers()
        }
        state['bn_running_mean'] = head.decoder.convs[0].bn.running_mean
        states.append(state)
    name = f'rank{rank}.pt' if world_size > 1 else 'single.pt'
    torch.save(
        dict(queue=states, sync_bn=sync_bn(rank, world_size)),
        os.path.join(out_dir, name))


def sync_bn(rank: int, world_size: int) -> dict:
    """SyncBN output and input gradient of this rank's part of a batch."""
    from mmcv.cnn import build_norm_layer
    generator = torch.Generator().manual_seed(7)
    inputs = torch.randn(4, 3, 5, 5, generator=generator) * 3 + 1
    weights = torch.randn(4, 3, 5, 5, generator=generator)
    if world_size > 1:
        inputs, weights = inputs[2 * rank:2 * rank + 2], weights[2 * rank:
                                                                 2 * rank + 2]
    layer = build_norm_layer(dict(type='SyncBN'), 3)[1].train()
    inputs.requires_grad_()
    output = layer(inputs)
    (output * weights).sum().backward()
    return dict(
        type=type(layer).__name__,
        output=output.detach(),
        grad=inputs.grad,
        running_var=layer.running_var)


def worker(rank: int, port: str, out_dir: str) -> None:
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=port)
    torch_dist.init_process_group('gloo', rank=rank, world_size=2)
    try:
        run(rank, 2, out_dir)
    finally:
        torch_dist.destroy_process_group()


if __name__ == '__main__':
    out_dir, mode = sys.argv[1], sys.argv[2]
    if mode == 'single':
        torch.set_num_threads(1)
        run(0, 1, out_dir)
    else:
        mp.spawn(worker, args=(mode, out_dir), nprocs=2)
