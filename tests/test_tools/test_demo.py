"""tools/demo.py, the README's first command: the benchmark of CE,
class-weighted CE and GML on the generated set, ending with its table and
the files beside its result file (here at 2 iterations, one seed, no
tuning, on the session's tiny generated set)."""
import json
import os.path as osp

from ..tool_runner import run_tool

LABELS = ['CE', 'Class-weighted CE', 'GML (per-class T_c)']
#: The demo's runs at 32 x 32, batch 2, in the test process's threads.
TINY = ['train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False',
        'model.data_preprocessor.size=[32,32]']


def test_demo_ends_with_the_benchmark_table_of_the_three_methods(
        synthetic_root, tmp_path):
    work_dir = tmp_path / 'demo'
    result = run_tool('tools/demo.py', '--iters', '2', '--seeds', '0',
                      '--no-tune', '--jobs', '2', '--data-root',
                      synthetic_root, '--work-dir', str(work_dir),
                      '--cfg-options', *TINY, timeout=600)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    lines = result.stdout.rstrip().splitlines()
    files = lines.index('Files beside the result file:')
    listed = [line.strip() for line in lines[files + 1:]]
    results_out = work_dir / 'results' / 'synthetic-lt.json'
    assert any(osp.abspath(path) == str(results_out) for path in listed)
    # the last table printed is the benchmark's: one row per method
    table = [line for line in lines[:files] if line.startswith('| ')]
    header = max(i for i, line in enumerate(table)
                 if line.startswith('| method | knob | mIoU'))
    rows = [line.split(' | ')[0][2:] for line in table[header + 1:]
            if '---' not in line]
    assert sorted(rows) == sorted(LABELS)
    document = json.loads(results_out.read_text())
    assert document['kind'] == 'accuracy'
    assert sorted(row['label'] for row in document['rows']) == sorted(LABELS)
    assert sorted(row['config'] for row in document['rows']) == [
        f'configs/gml_seg/demo_{method}_tiny_1xb8-1k_synthetic-lt-64x64.py'
        for method in ('ce', 'cwce', 'gml')]
    assert document['dataset'].startswith('the data of configs/gml_seg/demo_')
