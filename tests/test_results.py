"""The Results page's numbers: committed rows from real runs, read the way the page reads them."""
import json
from pathlib import Path

import numpy as np
import pytest

from imbgan_nb.studies import STUDIES
from imbgan_nb.runs import read_meta, read_rows
from imbgan_nb.results import fd_beside, PAPERS, beside_source, committed_runs, paired_deltas, results_root, run_info, verdict

ROOT = Path(__file__).resolve().parents[1]
EXPECTED = {'000_laptop': ('000', 'fashion_mnist', 3), '001_laptop': ('001', 'mnist', 3), '001d_laptop': ('001d', 'digits', 3),
            '002_laptop': ('002', 'fashion_mnist', 3), '003_laptop': ('003', 'fashion_mnist', 5),
            '003g_laptop': ('003g', 'fashion_mnist', 5), '003k_laptop': ('003k', 'fashion_mnist', 5), '003p_laptop': ('003p', 'fashion_mnist', 3)}


def test_results_root_is_the_repositorys():
    assert results_root() == ROOT/'results'


@pytest.mark.parametrize('folder', sorted(EXPECTED))
def test_committed_runs_are_whole(folder):
    study, dataset, seeds = EXPECTED[folder]
    path = results_root()/folder
    meta, rows = read_meta(path), read_rows(path)
    assert (meta['study'], meta['preset']) == (study, 'laptop')
    names = [sc.name for sc in STUDIES[study][1]('laptop', 0)]
    for name in names:                                   # every scenario of the study, at every seed
        assert sorted(r['seed'] for r in rows if r['name'] == name) == list(range(seeds)), (folder, name)
    assert {r['dataset'] for r in rows} == {dataset}
    assert not set(path.iterdir()) - {path/'rows.jsonl', path/'study.json'}, 'only the rows and the study file are committed'


def test_run_info_sums_each_seeds_scenarios():
    info = run_info(results_root()/'000_laptop')
    rows = read_rows(results_root()/'000_laptop')
    per_seed = [sum(r['seconds']['total'] for r in rows if r['seed'] == s) for s in range(3)]
    assert info['minutes per seed (max)'] == round(max(per_seed) / 60, 1)
    assert info['command'] == 'imbgan run 000 --preset laptop --seeds 3'
    assert set(committed_runs()) == set(EXPECTED)


def test_beside_source_recomputes_from_the_rows():
    rows = read_rows(results_root()/'002_laptop')
    table = beside_source(rows, PAPERS['002'])
    by = lambda name: {r['seed']: r['accuracy'] for r in rows if r['name'] == name}
    wgan, imb = by('WGAN'), by('Imbalanced')
    d = np.array([wgan[s] - imb[s] for s in sorted(wgan)])
    assert np.allclose(paired_deltas(rows, 'accuracy', 'WGAN', 'Imbalanced'), d)
    assert table.loc[('WGAN', 'accuracy'), 'kit - baseline'] == f"{d.mean():.3f} ± {d.std(ddof=1):.3f}"
    assert table.loc[('WGAN', 'accuracy'), 'paper - baseline'] == '+0.045'        # 0.928 - 0.883, Table 1
    assert table.loc[('WGAN', 'accuracy'), 'reproduced'] == verdict(d, +1)
    assert table.loc[('Imbalanced', 'accuracy'), 'reproduced'] == '-'              # the baseline is not compared with itself


def test_verdict_needs_more_than_one_std_and_a_claim():
    assert verdict(np.array([0.03, 0.02, 0.01]), +1) == 'yes'
    assert verdict(np.array([0.03, 0.02, 0.01]), -1) == 'no'
    assert verdict(np.array([0.02, -0.01, 0.01]), +1) == 'same sign, within 1 std'
    assert verdict(np.array([0.05]), +1) == 'same sign, within 1 std'               # one seed has no spread: never 'yes'
    assert verdict(np.array([0.05, 0.04]), None) == '-'


def test_the_results_page_reads_every_committed_run():
    text = ''.join(''.join(c['source']) for c in json.loads((ROOT/'nbs'/'16_results.ipynb').read_text())['cells'])
    for folder in EXPECTED: assert f"'{folder}'" in text, folder


def test_study_001_kept_the_reports_300_zeros_and_all_of_mnist():
    rows = read_rows(results_root()/'001_laptop')
    for r in rows:
        assert r['n_real'] == 60000 - 5923 + 300 and r['n_test'] == 10000, r['key']   # MNIST's 5,923 training zeros cut to 300
        assert r['n_synthetic'] == (0 if r['oversampler'] == 'none' else 6742 - 300), r['key']   # zeros topped up to the ones' 6,742


def test_study_002_trained_to_convergence_on_the_validation_split():
    rows = read_rows(results_root()/'002_laptop')
    for r in rows:
        assert r['n_real'] + r['n_validation'] == (30000 if r['protocol'] is None else 19950), r['key']
        assert r['clf_best_epoch'] < r['clf_epochs_run'] <= 30, r["key"]
    for r in (r for r in rows if r['name'] == 'WGAN'):
        assert set(r['quality']) == {'Pullover', 'Dress', 'Coat', 'Shirt'}
        for c, q in r['quality'].items():
            t = q['training']
            assert t['best_epoch'] == min(t['val_fd'], key=lambda es: es[1])[0], (r['key'], c)   # the kept generator: the best validation FD
            assert t['stopped_epoch'] is None or t['epochs_run'] == t['stopped_epoch'] + 1


def test_gamo_on_cnn2_rows_play_the_game_on_cnn2s_features():
    rows = read_rows(results_root()/'003k_laptop')
    gamo = [r for r in rows if r['name'] == 'GAMO (LS), cnn2 as F']
    base = [r for r in rows if r['name'] == 'Kit cnn2 (tuned)']
    assert {r['classifier'] for r in gamo} == {'gamo_cnn2'} and {r['classifier'] for r in base} == {'cnn2'}
    assert all(len(r['collapse']) == 9 and r['n_synthetic'] == 0 and r['n_real'] == 9000 for r in gamo)   # nine minority classes, points inside the game
    for r in gamo:                                                              # every convex generator's numbers are in range
        for v in r['collapse'].values(): assert 0 < v['max_weight'] <= 1 and 1 <= v['distinct_sources'] <= v['n_real']


IR100_COUNTS = dict(zip(['Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'],
                        [2000, 1000, 750, 500, 350, 200, 100, 60, 40]))   # GAMO's IR-100 counts of the nine minority classes


def test_gamo2pix_rows_record_each_decoders_plateau_and_score_at_equal_sizes():
    rows = read_rows(results_root()/'003p_laptop')
    g2p = [r for r in rows if r['name'] == 'GAMO2pix+CN']
    for r in g2p:
        assert r['n_real'] == 9000 and r['n_synthetic'] == 31000                # every class filled to the 4,000 of the majority
        assert len(r['quality']) == 9
        for c, q in r['quality'].items():
            d, n = q['decoder'], IR100_COUNTS[c]
            assert d['n_validation'] == round(0.1 * n)                          # a tenth of the class held out
            assert d['steps_run'] <= 25000 and d['best_step'] <= d['steps_run']
            steps = [s for s, _ in d['val_loss']]
            assert steps == list(range(250, d['steps_run'] + 1, 250))
            if d['stopped_step'] is not None: assert d['stopped_step'] - d['best_step'] == 3 * 250    # patience 3 checks
            assert q['n_fd'] == min(100, n)                                     # equal sizes: the class's training images or its 100 test images
    fd = fd_beside({'GAMO2pix': (rows, 'GAMO2pix+CN'), 'cDCGAN': (read_rows(results_root()/'003_laptop'), 'cDCGAN+CN')})
    assert len(fd) == 9
