"""Segmentation data samples, for the model tests (tests/test_seg) and the
config tests (tests/test_configs.py)."""
import torch


def make_data_samples(labels: torch.Tensor) -> list:
    """SegDataSamples with ``gt_sem_seg`` from a B x H x W label tensor."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    samples = []
    for label in labels:
        height, width = label.shape
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(data=label[None].long())
        sample.set_metainfo(
            dict(
                img_shape=(height, width),
                ori_shape=(height, width),
                pad_shape=(height, width),
                padding_size=[0, 0, 0, 0]))
        samples.append(sample)
    return samples
