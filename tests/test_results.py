"""The Results page's numbers: committed rows from real runs, read the way the page reads them."""
import json
from pathlib import Path

import numpy as np
import pytest

from imbgan_nb.studies import STUDIES
from imbgan_nb.runs import read_meta, read_rows
from imbgan_nb.results import PAPERS, beside_source, committed_runs, paired_deltas, results_root, run_info, verdict

ROOT = Path(__file__).resolve().parents[1]
EXPECTED = {'000_laptop': ('000', 'fashion_mnist', 3), '001_laptop': ('001', 'mnist', 3), '001d_laptop': ('001d', 'digits', 3),
            '002_laptop': ('002', 'fashion_mnist', 3), '003_laptop': ('003', 'fashion_mnist', 5),
            '003g_laptop': ('003g', 'fashion_mnist', 5)}


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
