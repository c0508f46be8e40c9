"""mil_seg.benchmark.loss_scaling: one table row a grid point, the GML
terms, the bare product and the old implementation timed in one run, and
their peak N x K buffers counted (tiny settings)."""
import torch

from mil_seg.benchmark import loss_scaling


def test_loss_scaling_prints_one_row_per_grid_point(capsys):
    rows = loss_scaling.main(['--anchors', '8', '16', '--queue', '64',
                              '--dims', '4', '--classes', '5', '--repeats',
                              '1'])
    assert [(r['anchors'], r['queue'], r['dim']) for r in rows] == [
        (8, 64, 4), (16, 64, 4)]
    lines = [line for line in capsys.readouterr().out.splitlines()
             if line.startswith('| 8 |') or line.startswith('| 16 |')]
    assert len(lines) == 2
    for line in lines:
        cells = line.split('|')
        gml_ms, product_ms = map(float, cells[4:6])
        assert gml_ms > 0 and product_ms > 0
        assert float(cells[7]) > 0  # the old implementation, same run
        # live N x K buffers at the peak, in N x K float32 matrices
        peak, old_peak, product_peak = map(float, cells[9:12])
        assert 0 < peak <= 2.0 < old_peak
        assert product_peak >= 1.0


def test_the_old_terms_are_the_same_loss():
    """The reference the timings compare against computes what the package
    computes (else the comparison times two different things)."""
    generator = torch.Generator().manual_seed(0)
    query = torch.nn.functional.normalize(
        torch.randn(6, 4, generator=generator), dim=1)
    keys = torch.nn.functional.normalize(
        torch.randn(20, 4, generator=generator), dim=1)
    labels = torch.randint(0, 3, (6, ), generator=generator)
    key_labels = torch.arange(20) % 3
    log_temperature = torch.full((3, ), 0.1).log()
    ids = torch.arange(6), torch.arange(20)
    new = loss_scaling.gml_contrastive_terms(
        query, keys, key_labels, labels, lambda x: x, log_temperature, *ids)
    old = loss_scaling.old_contrastive_terms(
        query, keys, key_labels, labels, lambda x: x, log_temperature, *ids)
    for key in ('loss_con', 'loss_temp'):
        torch.testing.assert_close(new[key], old[key])
