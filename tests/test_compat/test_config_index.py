"""``mil_seg.compat.config_index``: a toolbox's model index is read once per
process and answers as mmengine's own lookup does."""
import os
import os.path as osp

import mmengine.fileio
import pytest
import yaml
from mmengine.config import Config
from mmengine.config import utils as config_utils

import mil_seg
from mil_seg.compat import config_index


def write_package(root, models_per_file):
    """A package folder with ``.mim/model-index.yml`` importing one
    metafile per entry of ``models_per_file``."""
    mim = root / '.mim'
    os.makedirs(mim, exist_ok=True)
    imports = []
    for k, models in enumerate(models_per_file):
        path = f'configs/m{k}/metafile.yaml'
        os.makedirs(mim / osp.dirname(path), exist_ok=True)
        (mim / path).write_text(yaml.safe_dump(dict(Models=models)))
        imports.append(path)
    (mim / 'model-index.yml').write_text(yaml.safe_dump(dict(Import=imports)))
    return str(root)


@pytest.fixture
def loads(monkeypatch):
    """The files ``mmengine.fileio.load`` reads, in order."""
    read = []
    original = mmengine.fileio.load

    def load(path, *args, **kwargs):
        read.append(osp.basename(str(path)))
        return original(path, *args, **kwargs)

    monkeypatch.setattr(mmengine.fileio, 'load', load)
    config_index._model_index.cache_clear()
    yield read
    config_index._model_index.cache_clear()


def test_answers_as_mmengine_and_reads_the_index_once(tmp_path, loads):
    package = write_package(tmp_path, [
        [dict(Name='a', Config='configs/m0/a.py', Weights='a.pth'),
         dict(Name='a2', Config='configs/m0/a.py', Weights='a2.pth')],
        [dict(Name='b', Config='configs/m1/b.py'),
         dict(Name='no-config')],
    ])
    with pytest.warns(UserWarning, match='There is not `Config`'):
        first = config_index.cfg_metainfo(package, 'm0/a.py')
    # the first entry of a config named twice, as mmengine keeps it
    assert first == dict(Name='a', Config='configs/m0/a.py', Weights='a.pth')
    assert config_index.cfg_metainfo(package, 'm1/b.py')['Name'] == 'b'
    with pytest.raises(ValueError, match="but got _base_/x"):
        config_index.cfg_metainfo(package, '_base_/x')
    assert loads == ['model-index.yml', 'metafile.yaml', 'metafile.yaml']
    # callers get copies: changing one leaves the index as it was
    first['Config'] = 'changed'
    assert config_index.cfg_metainfo(package, 'm0/a.py')['Config'] == \
        'configs/m0/a.py'
    assert len(loads) == 3


def test_a_rewritten_index_is_read_again(tmp_path, loads):
    package = write_package(tmp_path, [[dict(Config='configs/m0/a.py')]])
    config_index.cfg_metainfo(package, 'm0/a.py')
    write_package(tmp_path, [[dict(Config='configs/m0/c.py')]])
    index = osp.join(package, '.mim', 'model-index.yml')
    stat = os.stat(index)
    os.utime(index, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert config_index.cfg_metainfo(package, 'm0/c.py')['Config'] == \
        'configs/m0/c.py'
    with pytest.raises(ValueError):
        config_index.cfg_metainfo(package, 'm0/a.py')
    assert loads.count('model-index.yml') == 2


def reference_index(package_path):
    """The installed toolbox's index, read directly from its files."""
    mim = osp.join(package_path, '.mim')
    with open(osp.join(mim, 'model-index.yml')) as f:
        imports = yaml.safe_load(f)['Import']
    configs = {}
    for path in imports:
        with open(osp.join(mim, path)) as f:
            for model in yaml.safe_load(f)['Models']:
                if 'Config' in model:
                    configs.setdefault(model['Config'].partition('/')[-1],
                                       model)
    return configs


def test_mmengine_reads_the_installed_toolbox_index_once(tmp_path, loads):
    import mmseg
    assert 'config_index' in mil_seg.compat.active_shims()
    assert config_utils._get_cfg_metainfo is config_index.cfg_metainfo
    package = osp.dirname(mmseg.__file__)
    expected = reference_index(package)
    assert len(expected) > 100
    for name in sorted(expected)[::25]:
        assert config_index.cfg_metainfo(package, name) == expected[name]
    read_once = len(loads)
    with open(osp.join(package, '.mim', 'model-index.yml')) as f:
        assert read_once == 1 + len(yaml.safe_load(f)['Import'])
    # two configs inheriting an mmseg:: base: nothing read again
    for k in range(2):
        path = tmp_path / f'c{k}.py'
        path.write_text("_base_ = ['mmseg::_base_/default_runtime.py']\n"
                        f'value = {k}\n')
        cfg = Config.fromfile(str(path))
        assert cfg.default_scope == 'mmseg' and cfg.value == k
    assert len(loads) == read_once
