"""The same lesson on every machine: claims about training named in one place, rows that say what made them, a kit that
installs beside fastcore 2, and the prepared device check."""
import configparser, json, re, subprocess, sys, time
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'tools'))
from kernel_matrix import INVARIANTS_ONLY, TRAINING_CLAIMS  # noqa: E402

# Calls that train something: a notebook whose test cells call one of these and assert is making a claim about training.
TRAINS = re.compile(r'\b(fit_classifier|train_gan|fit_minority_gan|fit_gamo|fit_gamo2pix|failure_spread|failure_runs|run_lab|'
                    r'run_scenario|run_study|train_feature_extractor)\(|ToyRun\(.*\)\.run\(|\.run\(\d')
ASSERTS = re.compile(r'^\s*assert\b|test_close\(', re.M)


def test_every_notebook_that_asserts_on_training_is_named_in_kernel_matrix():
    claims = set()
    for nb_path in sorted((ROOT/'nbs').glob('*.ipynb')):
        cells = [''.join(c['source']) for c in json.loads(nb_path.read_text())['cells'] if c['cell_type'] == 'code']
        cells = [c for c in cells if not c.startswith(('#| export', '#| exports', '#| hide'))]
        trains = any(TRAINS.search(c) for c in cells)
        # an assertion that reads what was trained: a cell that asserts after (or while) training
        asserts_after = any(ASSERTS.search(c) for i, c in enumerate(cells) if any(TRAINS.search(p) for p in cells[:i + 1]))
        if trains and asserts_after: claims.add(nb_path.stem)
    missing = claims - set(TRAINING_CLAIMS) - set(INVARIANTS_ONLY)
    assert not missing, f"these notebooks assert on what training produced; name them in tools/kernel_matrix.py (TRAINING_CLAIMS, or INVARIANTS_ONLY where they assert only what holds anywhere): {sorted(missing)}"
    assert set(TRAINING_CLAIMS) <= {p.stem for p in (ROOT/'nbs').glob('*.ipynb')}, "TRAINING_CLAIMS names a notebook that does not exist"


def test_ci_runs_nbdev_test_again_under_another_cpu_kernel():
    ci = (ROOT/'.ci'/'run').read_text()
    assert re.search(r'ATEN_CPU_CAPABILITY=(default|avx2)\b.*nbdev_test', ci), "one nbdev_test pass under another kernel"


def test_runtime_requirements_pin_no_upper_bound_and_need_no_fastcore():
    cfg = configparser.ConfigParser(); cfg.read(ROOT/'settings.ini')
    reqs = cfg['DEFAULT']['requirements'].split()
    assert not [r for r in reqs if '<' in r or 'fastcore' in r], reqs
    assert 'imbgan_analyze' not in cfg['DEFAULT']['console_scripts']
    # the kit imports and runs a scenario's pieces with fastcore unimportable (as in an environment that has another version)
    code = ("import sys; sys.modules['fastcore'] = None\n"
            "import imbgan_nb.cli, imbgan_nb.experiments, imbgan_nb.lab, imbgan_nb.toy, imbgan_nb.imbalance, imbgan_nb.runs\n"
            "print(imbgan_nb.cli.main(['list']))")
    res = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0 and res.stdout.strip().endswith('0'), res.stderr[-2000:]


def test_run_environment_names_torch_threads_and_kernel():
    from imbgan_nb.core import run_environment
    env = run_environment('cpu')
    assert env == {'torch': torch.__version__, 'threads': torch.get_num_threads(), 'cpu_kernel': torch.backends.cpu.get_cpu_capability()}


def test_device_check_quick_on_cpu_writes_its_summary(tmp_path):
    out = tmp_path/'summary.json'
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, str(ROOT/'tools'/'device_check.py'), '--device', 'cpu', '--quick', '--out', str(out)],
                         capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert res.returncode == 0, res.stderr[-3000:]
    s = json.loads(out.read_text())
    assert time.perf_counter() - t0 < 300, "the quick check should take under 5 minutes on 2 cores"
    assert s['device'] == 'cpu' and s['environment']['torch'] == torch.__version__
    for part in ('notebooks', 'lab', 'benchmark_gans', 'syncs_per_epoch', 'study_row'):
        assert 'error' not in s[part], (part, s[part])
    assert s['notebooks']['all_passed']
    assert s['benchmark_gans']['models']['dcgan']['kit_img_s'] > 0
    for loop, v in s['syncs_per_epoch']['loops'].items():      # the kit reads the device a few times an epoch, never once a step
        assert v['reads'] <= 4, (loop, v)
    assert s['study_row']['environment']['cpu_kernel'] == torch.backends.cpu.get_cpu_capability()

