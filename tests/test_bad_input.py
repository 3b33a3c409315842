"""Every class of bad input and fault, through the API and the `imbgan` command: a clear one-line error (or the right
behaviour), never a silent wrong result or a raw traceback, and nothing lost or half-written."""
import json, os, random, shutil, signal, subprocess, time, warnings

import pytest
import torch

from imbgan_nb import cli
from imbgan_nb.classifier import fit_classifier
from imbgan_nb.core import get_preset
from imbgan_nb.data import load_dataset
from imbgan_nb.readers import DatasetFileError, write_idx
from imbgan_nb.imbalance import make_imbalanced
from imbgan_nb.dcgan import make_dcgan
from imbgan_nb.experiments import Scenario
from imbgan_nb.runs import read_rows
from imbgan_nb.lab import LabSettings, keep_counts
from imbgan_nb.quality import _load_extractor
from imbgan_nb.training import CHECKPOINT_KIND, load_checkpoint, train_gan
from imbgan_nb.vanilla import make_vanilla_gan

EXE = shutil.which('imbgan')
RESULTS = __import__('pathlib').Path(__file__).resolve().parents[1]/'results'
DEMO_FAST = 'Baseline|Random oversampling'   # the demo study's rows that train no GAN: seconds each at the ci preset


@pytest.fixture(scope='module')
def digits(): return load_dataset('digits')


@pytest.fixture
def env(tmp_path):
    return {**os.environ, 'IMBGAN_DATA': str(tmp_path/'cache'), 'MPLBACKEND': 'Agg', 'OMP_NUM_THREADS': '1'}


def imbgan(*args, env, cwd, timeout=600):
    assert EXE, "pip install -e . should install the imbgan command"
    return subprocess.run([EXE, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def start(*args, env, cwd):
    "The command in the background, with Ctrl-C (SIGINT) acting as in a terminal: a shell's background job would pass it on ignored."
    return subprocess.Popen([EXE, *args], env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def assert_one_line_error(res, *words):
    "Exit status 2 and one line on stderr naming the problem, no traceback."
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2 and len(lines) == 1 and 'Traceback' not in res.stderr, res.stderr
    for w in words: assert w in lines[0], lines[0]


# ---- arguments checked at the door

@pytest.mark.parametrize('call, message', [
    (lambda d: make_imbalanced(d, counts=[1, 2]), "counts must be a dict"),
    (lambda d: make_imbalanced(d, fractions=[0.1]), "fractions must be a dict"),
    (lambda d: make_imbalanced(d, fractions={'7': 1.5}), "outside (0, 1]"),
    (lambda d: keep_counts(d, minority=7.5), "minority must be a class"),
    (lambda d: LabSettings(target=2.7), "target 2.7"),
    (lambda d: LabSettings(seed=-1), "seed must be a non-negative integer"),
    (lambda d: LabSettings(speed='turbo'), "Unknown speed 'turbo'"),
    (lambda d: Scenario(study='s', name='n', dataset='digits', protocol=None, seed=1.5), "seed must be a non-negative integer"),
    (lambda d: Scenario(study='s', name='n', dataset='digits', protocol=None, oversampler='random', target=2.7), "target 2.7"),
])
def test_bad_arguments_are_refused_with_the_valid_choices(digits, call, message):
    with pytest.raises(ValueError, match=message.replace('(', r'\(').replace(')', r'\)').replace(']', r'\]')):
        call(digits)


def test_one_class_is_one_label_or_name_or_a_tuple(digits):
    assert keep_counts(digits, minority=7) == keep_counts(digits, minority=(7,)) == keep_counts(digits, minority='7') == {7: 15}


# ---- training that goes wrong stops or warns, with the likely cause

def test_a_diverging_classifier_stops_and_one_that_learned_nothing_warns(digits):
    with pytest.raises(FloatingPointError, match="Lower the learning rate"):
        fit_classifier(digits, 'cnn2', preset=get_preset('ci'), lr=10.0, progress=False, device='cpu')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        fit_classifier(digits, 'cnn2', preset=get_preset('ci'), lr=0.0, progress=False, device='cpu')   # never moves
    assert any('learned nothing' in str(w.message) for w in caught)


def test_a_gan_with_an_absurd_learning_rate_stops(digits):
    sevens = digits.subset(torch.nonzero(digits.labels == 7).flatten())
    gan = make_dcgan(digits.classes, 7, digits.shape, device='cpu')
    for opt in (gan.opt_G, gan.opt_D):
        for group in opt.param_groups: group['lr'] = 50.0
    with pytest.raises(FloatingPointError, match="lr_g"):
        train_gan(gan, sevens, epochs=20, batch_size=32, progress=False)


def test_training_faults_reach_the_command_as_one_line(monkeypatch, capsys, tmp_path):
    def diverged(*a, **k): raise FloatingPointError("dcgan: d_loss 3e+07 in epoch 4: training diverged. Lower the learning rates.")
    monkeypatch.setattr('imbgan_nb.runs.run_study', diverged)
    assert cli.main(['run', 'demo', '--preset', 'ci', '--out', str(tmp_path/'run'), '--quiet']) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and 'training diverged' in err[0]
    with pytest.raises(FloatingPointError): cli.main(['--debug', 'run', 'demo', '--preset', 'ci', '--out', str(tmp_path/'run')])


# ---- files: checkpoints, data folders, run folders

class Payload:
    "Any Python object: torch.save pickles it, and unpickling it would run code."


def test_checkpoints_are_checked_and_never_unpickled(digits, tmp_path):
    gan = make_dcgan(digits.classes, 7, digits.shape, device='cpu')
    sevens = digits.subset(torch.nonzero(digits.labels == 7).flatten())
    folder = tmp_path/'gan'
    train_gan(gan, sevens, epochs=1, batch_size=32, checkpoint_dir=folder, progress=False)
    path = folder/'last.pt'
    good = torch.load(path, weights_only=True)
    data_id = good['data']

    torch.save({'kind': CHECKPOINT_KIND, 'model': Payload()}, tmp_path/'pickle.pt')
    with pytest.raises(ValueError) as e: load_checkpoint(tmp_path/'pickle.pt', gan, data_id)
    assert 'pickled Python objects' in str(e.value) and 'weights_only=False' not in str(e.value) and 'pickle.pt' in str(e.value)

    torch.save({'kind': CHECKPOINT_KIND, 'G': {}}, tmp_path/'partial.pt')
    with pytest.raises(ValueError, match=r"partial.pt: a GAN checkpoint without model, data"):
        load_checkpoint(tmp_path/'partial.pt', gan, data_id)

    other = {**good, 'G': make_vanilla_gan(digits.classes, 7, device='cpu').G.state_dict()}   # right kind, other weights
    torch.save(other, tmp_path/'other.pt')
    with pytest.raises(ValueError, match=r"other.pt: its weights do not fit this dcgan"):
        load_checkpoint(tmp_path/'other.pt', gan, data_id)

    (tmp_path/'junk.pt').write_bytes(b'not a checkpoint')
    with pytest.raises(ValueError, match="cannot be opened as a feature extractor: it is damaged"):
        _load_extractor(tmp_path/'junk.pt', digits, 'x', 'cpu')


def test_a_cache_holding_one_split_is_not_paired_with_another_copy(tmp_path, monkeypatch):
    "A custom Fashion-MNIST train split in IMBGAN_DATA is never judged on the system copy's test split."
    src = load_dataset('digits')
    folder = tmp_path/'FashionMNIST'/'raw'; folder.mkdir(parents=True)
    write_idx(src.images[:100, 0].numpy(), folder/'train-images-idx3-ubyte')
    write_idx(src.labels[:100].numpy().astype('uint8'), folder/'train-labels-idx1-ubyte')
    monkeypatch.setenv('IMBGAN_DATA', str(tmp_path))
    for split in ('train', 'test'):
        with pytest.raises(DatasetFileError, match="holds only the train split of fashion_mnist"):
            load_dataset('fashion_mnist', split, download=False, verify=False)
    assert len(load_dataset('fashion_mnist', 'train', root=folder, verify=False)) == 100   # named with root=: that copy only


@pytest.mark.parametrize('setup, args, words', [
    (lambda p: (p/'afile').write_text('x'), ['run', 'demo', '--preset', 'ci', '--out', 'afile'], ['afile is a file, not a folder']),
    (lambda p: None, ['run', 'demo', '--preset', 'ci', '--out', '/proc/imbgan_run'], ['cannot write in the run folder']),
    (lambda p: None, ['analyze', '--out', '/proc/imbgan_analysis'], ['cannot write in the run folder']),
    (lambda p: (p/'run').mkdir() or (p/'run'/'study.json').write_text(''), ['report', 'run'], ['study.json is empty or damaged', 'delete it']),
    (lambda p: (p/'run').mkdir() or (p/'run'/'study.json').write_text('{"stu'), ['run', 'demo', '--preset', 'ci', '--out', 'run'],
     ['study.json is empty or damaged']),
    (lambda p: (p/'run').mkdir(), ['report', 'run'], ['not an imbgan run folder']),
])
def test_folder_faults_are_one_line_and_change_nothing(env, tmp_path, setup, args, words):
    setup(tmp_path)
    before = sorted((str(p), p.stat().st_size) for p in tmp_path.rglob('*') if 'cache' not in p.parts)
    assert_one_line_error(imbgan(*args, env=env, cwd=tmp_path, timeout=300), *words)
    assert sorted((str(p), p.stat().st_size) for p in tmp_path.rglob('*') if 'cache' not in p.parts) == before


# ---- run folders: one run at a time, repeated rows repaired, kills lose nothing

def comparable(rows):
    "The rows without what legitimately differs between two runs (wall time)."
    return {r['key']: {k: v for k, v in r.items() if k != 'seconds'} for r in rows}


def wait_for_lock(folder, proc, timeout=120):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if (folder/'run.lock').exists() and (folder/'run.lock').read_text().strip(): return
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.1)
    raise AssertionError('the first run never took the lock')


def test_a_second_run_into_a_busy_folder_refuses_and_a_dead_owners_lock_is_taken_over(env, tmp_path):
    args = ['run', 'demo', '--preset', 'ci', '--seeds', '2', '--out', 'run', '--quiet', '--only', DEMO_FAST]
    first = start(*args, env=env, cwd=tmp_path)
    try:
        wait_for_lock(tmp_path/'run', first)
        t0 = time.time()
        second = imbgan(*args, env=env, cwd=tmp_path)
        assert_one_line_error(second, 'in use by another imbgan run', f'pid {first.pid}')
        assert time.time() - t0 < 60
    finally:
        first.send_signal(signal.SIGKILL); first.wait()
    (tmp_path/'run'/'rows.jsonl').touch()
    with open(tmp_path/'run'/'rows.jsonl', 'a') as f:          # a row written twice, as two unlocked runs once left them
        f.writelines(l + '\n' for l in (tmp_path/'run'/'rows.jsonl').read_text().splitlines()[:1])
    res = imbgan(*args, env=env, cwd=tmp_path)                # the dead owner's lock is taken over, the repeat repaired
    assert res.returncode == 0, res.stderr
    keys = [json.loads(l)['key'] for l in (tmp_path/'run'/'rows.jsonl').read_text().splitlines()]
    assert sorted(keys) == sorted(set(keys)) and len(keys) == 4


def test_a_study_killed_at_random_moments_ends_with_the_rows_of_an_uninterrupted_run(env, tmp_path):
    args = ['run', 'demo', '--preset', 'ci', '--seeds', '3', '--quiet', '--only', DEMO_FAST]
    t0 = time.time()
    res = imbgan(*args, '--out', 'whole', env=env, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    whole_seconds = time.time() - t0
    rng, kills = random.Random(0), 0
    while kills < 5:
        proc = start(*args, '--out', 'killed', env=env, cwd=tmp_path)
        time.sleep(rng.uniform(0.05, 0.2) * whole_seconds)   # five of these add up to less than one whole run, even unloaded
        if proc.poll() is not None: break                     # it finished first: everything left was done
        proc.send_signal(signal.SIGKILL); proc.wait(); kills += 1
    assert kills == 5, f"only {kills} kills landed before the run finished"
    res = imbgan(*args, '--out', 'killed', env=env, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert comparable(read_rows(tmp_path/'killed')) == comparable(read_rows(tmp_path/'whole'))


def test_ctrl_c_at_random_moments_then_the_same_command_ends_with_the_uninterrupted_rows(env, tmp_path):
    "Five SIGINTs (Ctrl-C) at seeded random moments of a study that trains a GAN, then the same command: the rows of one straight run."
    args = ['run', 'demo', '--preset', 'ci', '--seeds', '3', '--quiet', '--only', 'DCGAN']
    res = imbgan(*args, '--out', 'whole', env=env, cwd=tmp_path)        # also fills the cache: later runs start faster
    assert res.returncode == 0, res.stderr
    t0 = time.time()
    res = imbgan(*args, '--out', 'timed', env=env, cwd=tmp_path)
    whole_seconds = time.time() - t0
    rng, interrupts = random.Random(1), 0
    while interrupts < 5:
        proc = start(*args, '--out', 'interrupted', env=env, cwd=tmp_path)
        time.sleep(wait := rng.uniform(0.02, 0.1) * whole_seconds)   # any moment; five add up to under half a run: it cannot finish first
        if proc.poll() is not None: break
        proc.send_signal(signal.SIGINT); proc.wait(timeout=120); interrupts += 1
        err = proc.stderr.read()
        assert proc.returncode == 130 and 'Traceback' not in err and len(err.strip().splitlines()) == 1, (proc.returncode, err, wait, whole_seconds)
    assert interrupts == 5, f"only {interrupts} interrupts landed before the run finished"
    res = imbgan(*args, '--out', 'interrupted', env=env, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert comparable(read_rows(tmp_path/'interrupted')) == comparable(read_rows(tmp_path/'whole'))


def test_the_run_lock_is_never_opened_through_a_link(tmp_path):
    "A run folder from someone else may carry run.lock as a link to any file the user can write: refused, the file untouched."
    from imbgan_nb.runs import RunLock
    outside = tmp_path/'precious.txt'; outside.write_text('keep me')
    folder = tmp_path/'run'; folder.mkdir()
    (folder/'run.lock').symlink_to(outside)
    with pytest.raises(ValueError, match='is a symbolic link'):
        with RunLock(folder): pass
    assert outside.read_text() == 'keep me'
    (folder/'run.lock').unlink()
    with RunLock(folder): assert 'pid' in (folder/'run.lock').read_text()     # a plain lock works as before
    assert (folder/'run.lock').read_text() == ''


# ---- nothing written through a link planted in a run folder or the cache

def test_report_refuses_a_linked_figures_folder(env, tmp_path):
    run, outside = tmp_path/'run', tmp_path/'outside'
    run.mkdir(); outside.mkdir()
    for f in ('rows.jsonl', 'study.json'): shutil.copy(RESULTS/'001d_laptop'/f, run/f)
    (run/'figures').symlink_to(outside)
    res = imbgan('report', 'run', env=env, cwd=tmp_path)
    assert_one_line_error(res, 'figures is a symbolic link', 'delete the link')
    assert list(outside.iterdir()) == []


def test_a_scenario_refuses_linked_checkpoints_or_manifests_before_any_work(tmp_path):
    from imbgan_nb.experiments import run_scenario
    outside = tmp_path/'outside'; outside.mkdir()
    sc = Scenario(study='demo', name='DCGAN', dataset='digits', protocol='sneaker_10pct', oversampler='dcgan', target='mean', classifier='cnn2', preset='ci', seed=0)
    for sub in ('checkpoints', 'manifests'):
        run = tmp_path/f'run_{sub}'; run.mkdir(); (run/sub).symlink_to(outside)
        with pytest.raises(ValueError, match=f'{sub} is a symbolic link'):
            run_scenario(sc, run, device='cpu', progress=False)
    assert list(outside.iterdir()) == []


def test_a_linked_cache_file_is_never_written_through(digits, tmp_path):
    "A checkpoint in the cache planted as a link (here dangling, to a file outside): training refuses to save through it."
    folder, outside = tmp_path/'cache'/'gans'/'x', tmp_path/'outside'
    folder.mkdir(parents=True); outside.mkdir()
    (folder/'last.pt').symlink_to(outside/'last.pt')
    sevens = digits.subset(torch.nonzero(digits.labels == 7).flatten()[:16])
    gan = make_vanilla_gan(digits.classes, 7, digits.shape, device='cpu')
    with pytest.raises(ValueError, match='last.pt is a symbolic link'):
        train_gan(gan, sevens, epochs=1, batch_size=8, checkpoint_dir=folder, progress=False)
    assert list(outside.iterdir()) == []


# ---- files checked against what they claim

def _run_copy(tmp_path, name='run'):
    run = tmp_path/name; run.mkdir()
    for f in ('rows.jsonl', 'study.json'): shutil.copy(RESULTS/'001d_laptop'/f, run/f)
    return run


def _tables(stdout):
    "The printed tables of `imbgan report`, without the lines about the files."
    return stdout.split('\noverall:')[1].split('\nreport:')[0]


def test_a_row_of_another_preset_or_study_is_set_aside_not_averaged(env, tmp_path):
    clean, mixed = _run_copy(tmp_path, 'clean'), _run_copy(tmp_path, 'mixed')
    row = json.loads((clean/'rows.jsonl').read_text().splitlines()[0])
    foreign = [{**row, 'preset': 'ci', 'accuracy': 0.0, 'key': row['key'] + '-ci'}, {**row, 'study': '002', 'key': row['key'] + '-002'}]
    with open(mixed/'rows.jsonl', 'a') as f: f.writelines(json.dumps(r) + '\n' for r in foreign)
    a, b = imbgan('report', 'clean', env=env, cwd=tmp_path), imbgan('report', 'mixed', env=env, cwd=tmp_path)
    assert a.returncode == b.returncode == 0, b.stderr
    assert "rows.jsonl line 13: a row of study '001d' at preset 'ci', not this folder's '001d' at 'laptop'; set aside" in b.stdout
    assert "rows.jsonl line 14: a row of study '002'" in b.stdout
    assert _tables(a.stdout) == _tables(b.stdout)          # never averaged in


@pytest.mark.parametrize('field, value, says', [('seed', 'zero', "'seed' is str, not int"), ('quality', [1], "'quality' is list, not dict"),
                                               ('confusion', 'x', "'confusion' is str, not list"), ('accuracy', 7, "'accuracy' = 7"),
                                               ('key', None, "'key' is NoneType")])
def test_wrong_typed_row_fields_are_named_by_file_and_line(env, tmp_path, field, value, says):
    run = _run_copy(tmp_path)
    lines = (run/'rows.jsonl').read_text().splitlines()
    lines[2] = json.dumps({**json.loads(lines[2]), field: value})
    (run/'rows.jsonl').write_text('\n'.join(lines) + '\n')
    res = imbgan('report', 'run', env=env, cwd=tmp_path)
    assert res.returncode == 0 and 'Traceback' not in res.stderr, res.stderr
    assert f"rows.jsonl line 3: {says}" in res.stdout and 'set aside' in res.stdout


def test_a_minimal_study_json_is_enough(env, tmp_path):
    run = _run_copy(tmp_path)
    (run/'study.json').write_text(json.dumps({'study': '001d', 'preset': 'laptop'}))
    res = imbgan('report', 'run', env=env, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert (run/'report.md').read_text().startswith('# Study 001d: ')


def test_report_prints_the_tables_when_it_cannot_write_figures(env, tmp_path):
    run = _run_copy(tmp_path)
    (run/'figures').write_text('a file where the folder should be')
    res = imbgan('report', 'run', env=env, cwd=tmp_path)
    assert res.returncode == 0 and 'overall:' in res.stdout and 'Traceback' not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and 'report.md and figures not written' in res.stderr
    assert_one_line_error(imbgan('report', 'run/rows.jsonl', env=env, cwd=tmp_path), 'is a file', 'run folder')


def test_zero_or_negative_epochs_are_refused_by_name(digits):
    with pytest.raises(ValueError, match=r'clf_epochs=-1: give a whole number of at least 0'):
        fit_classifier(digits, 'cnn2', preset=get_preset('ci').with_(clf_epochs=-1), device='cpu', progress=False)
    with pytest.raises(ValueError, match=r'clf_epochs=0 in a study; give at least 1'):    # 0 is an untrained floor, never a row
        Scenario(study='demo', name='Baseline', dataset='digits', protocol='sneaker_10pct', oversampler='none', target='mean', classifier='cnn2', preset='ci', seed=0, overrides=(('clf_epochs', 0),))
    with pytest.raises(ValueError, match=r"'clf_epoch' is not a preset size: did you mean 'clf_epochs'"):
        get_preset('ci', clf_epoch=3)
    gan = make_vanilla_gan(digits.classes, 7, digits.shape, device='cpu')
    sevens = digits.subset(torch.nonzero(digits.labels == 7).flatten()[:16])
    for bad in (0, -1):
        with pytest.raises(ValueError, match=f'epochs={bad}: give a whole number'):
            train_gan(gan, sevens, epochs=bad, progress=False)


@pytest.mark.parametrize('field, value', [('history', 'x'), ('rng', {'torch': 1}), ('epoch', 'three'), ('history', {'epochs': 5})])
def test_a_checkpoint_with_wrong_typed_fields_is_refused_in_one_line(digits, tmp_path, field, value):
    sevens = digits.subset(torch.nonzero(digits.labels == 7).flatten()[:16])
    torch.manual_seed(0); gan = make_vanilla_gan(digits.classes, 7, digits.shape, device='cpu')
    train_gan(gan, sevens, epochs=1, batch_size=8, checkpoint_dir=tmp_path, progress=False)
    state = torch.load(tmp_path/'last.pt', weights_only=True); state[field] = value; torch.save(state, tmp_path/'last.pt')
    with pytest.raises(ValueError, match=f'a GAN checkpoint whose {field} has the wrong type'):
        train_gan(gan, sevens, epochs=2, batch_size=8, checkpoint_dir=tmp_path, progress=False)


def test_a_full_disk_names_the_folder_and_keeps_the_old_checkpoint(digits, tmp_path, monkeypatch):
    sevens = digits.subset(torch.nonzero(digits.labels == 7).flatten()[:16])
    torch.manual_seed(0); gan = make_vanilla_gan(digits.classes, 7, digits.shape, device='cpu')
    train_gan(gan, sevens, epochs=1, batch_size=8, checkpoint_dir=tmp_path, progress=False)
    before = (tmp_path/'last.pt').read_bytes()
    def full(obj, f, *a, **k): raise RuntimeError('[enforce fail at inline_container.cc:672] . unexpected pos 4096 vs 0')
    monkeypatch.setattr(torch, 'save', full)
    with pytest.raises(OSError, match='no space left on the disk of .* to write last.pt'):
        train_gan(gan, sevens, epochs=2, batch_size=8, checkpoint_dir=tmp_path, progress=False)
    assert (tmp_path/'last.pt').read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ['last.pt']
