"""The benchmark scripts run and print their tables (tiny settings). (The
segmentation, CIFAR-10-LT and step-cost benchmarks are the package's:
test_benchmark/.)"""
from ..tool_runner import run_tool


def test_loss_scaling_prints_one_row_per_grid_point():
    result = run_tool('tools/benchmarks/gml_loss_scaling.py', '--anchors',
                      '8', '16', '--queue', '64', '--dims', '4', '--classes',
                      '5', '--repeats', '1', timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [line for line in result.stdout.splitlines()
            if line.startswith('| 8 |') or line.startswith('| 16 |')]
    assert len(rows) == 2
    for row in rows:
        cells = row.split('|')
        gml_ms, product_ms = map(float, cells[4:6])
        assert gml_ms > 0 and product_ms > 0
        assert float(cells[7]) > 0  # the old implementation, same run
        # live N x K buffers at the peak, in N x K float32 matrices
        peak, old_peak, product_peak = map(float, cells[9:12])
        assert 0 < peak <= 2.0 < old_peak
        assert product_peak >= 1.0

