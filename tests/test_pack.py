"""The course pack end to end: `imbgan prepare` in cache A, `pack export`, `pack import` into an empty cache B, then a
study run in B that trains no generator; and packs with one thing wrong, refused in one line with B unchanged."""
import contextlib, hashlib, io, shutil, tarfile
from pathlib import Path

import pytest

import imbgan_nb.training
from imbgan_nb.cli import main
from imbgan_nb.data import dataset_here
from imbgan_nb.runs import read_rows


def imbgan(*argv) -> tuple[int, str, str]:
    "Run the `imbgan` command in this process: (exit status, stdout, stderr)."
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err): status = main(list(argv))
    return status, out.getvalue(), err.getvalue()


def snapshot(root: Path) -> dict:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob('*')) if p.is_file()}


STUDY = '000' if dataset_here('fashion_mnist') else 'demo'   # 000 needs the real Fashion-MNIST; the demo runs on the embedded digits


@pytest.fixture(scope='module')
def pack(tmp_path_factory):
    "A ci pack of everything study STUDY trains, prepared in an empty cache A."
    root = tmp_path_factory.mktemp('pack')
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv('IMBGAN_DATA', str(root/'A'))
        status, out, err = imbgan('prepare', '--preset', 'ci', '--only', STUDY, '--quiet')
        assert status == 0, err
        assert 'models trained now' in out and ' 0 of ' not in out                  # a fresh cache: everything trained
        status, out, err = imbgan('prepare', '--preset', 'ci', '--only', STUDY, '--quiet')
        assert status == 0 and ' 0 of ' in out, out                                  # resumable: a second call trains nothing
        status, out, err = imbgan('pack', 'export', str(root/'p.tar'), '--preset', 'ci')
        assert status == 0, err
    return root/'p.tar', root/'A'


def test_an_imported_pack_is_used_as_it_is_and_no_generator_trains(pack, tmp_path, monkeypatch):
    file, cache_a = pack
    monkeypatch.setenv('IMBGAN_DATA', str(tmp_path/'B'))
    status, out, err = imbgan('pack', 'import', str(file))
    assert status == 0, err
    gans_a = {p.relative_to(cache_a).as_posix(): p.read_bytes() for p in cache_a.glob('gans/*/last.pt')}
    assert gans_a and all((tmp_path/'B'/p).read_bytes() == b for p, b in gans_a.items())   # byte for byte
    def no_training(*a, **k): raise AssertionError('a generator was trained: the pack was not used')
    monkeypatch.setattr(imbgan_nb.training, 'batches', no_training)             # every GAN epoch draws its batches here
    status, out, err = imbgan('run', STUDY, '--preset', 'ci', '--seeds', '1', '--quiet', '--out', str(tmp_path/'run'))
    assert status == 0, err
    rows = read_rows(tmp_path/'run')
    assert rows and len({r['name'] for r in rows}) == len(rows)
    used = {p.read_bytes() for p in (tmp_path/'run'/'checkpoints').glob('*/last.pt')}
    assert used and used <= set(gans_a.values())                                # the run's checkpoints are the pack's


def _flip_a_byte(file: Path, out: Path) -> Path:
    data = bytearray(file.read_bytes())
    with tarfile.open(file) as tar: data[tar.getmembers()[1].offset_data + 4096] ^= 0x10
    out.write_bytes(bytes(data)); return out


def _with_member(file: Path, out: Path, info: tarfile.TarInfo, data: bytes | None) -> Path:
    with tarfile.open(file) as tar, tarfile.open(out, 'w') as new:
        for m in tar.getmembers(): new.addfile(m, tar.extractfile(m))
        new.addfile(info, io.BytesIO(data) if data is not None else None)
    return out


def _escaping(name):
    info = tarfile.TarInfo(name); info.size = 1; return info, b'x'


def _symlink():
    info = tarfile.TarInfo('feature_extractors/x.pt'); info.type, info.linkname = tarfile.SYMTYPE, '../../outside.pt'; return info, None


@pytest.mark.parametrize('make, says', [
    (lambda f, out: _flip_a_byte(f, out), 'does not match its SHA-256'),
    (lambda f, out: _with_member(f, out, *_escaping('../outside.pt')), 'points outside the cache'),
    (lambda f, out: _with_member(f, out, *_escaping('/tmp/outside.pt')), 'points outside the cache'),
    (lambda f, out: _with_member(f, out, *_symlink()), 'holds a symbolic link'),
], ids=['changed byte', 'dot-dot member', 'absolute member', 'symlink'])
def test_a_bad_pack_is_refused_in_one_line_and_the_cache_is_unchanged(pack, tmp_path, monkeypatch, make, says):
    file, _ = pack
    monkeypatch.setenv('IMBGAN_DATA', str(tmp_path/'B'))
    (tmp_path/'B'/'gans'/'mine').mkdir(parents=True)
    (tmp_path/'B'/'gans'/'mine'/'last.pt').write_bytes(b'a student\'s own checkpoint')
    before = snapshot(tmp_path/'B')
    status, out, err = imbgan('pack', 'import', str(make(file, tmp_path/'bad.tar')))
    assert status == 2 and says in err and err.count('\n') == 1, err
    assert snapshot(tmp_path/'B') == before and not (tmp_path/'outside.pt').exists()


def test_a_pack_by_url_is_checked_against_its_published_sha256(pack, tmp_path, monkeypatch):
    file, _ = pack
    monkeypatch.setenv('IMBGAN_DATA', str(tmp_path/'B'))
    status, _, err = imbgan('pack', 'import', file.resolve().as_uri(), '--sha256', '0' * 64)
    assert status == 2 and 'published for it' in err and not (tmp_path/'B'/'gans').exists()
    status, out, err = imbgan('pack', 'import', file.resolve().as_uri(), '--sha256', hashlib.sha256(file.read_bytes()).hexdigest())
    assert status == 0 and 'installed into' in out, err


def test_nothing_in_the_cache_is_replaced(pack, tmp_path, monkeypatch):
    file, cache_a = pack
    monkeypatch.setenv('IMBGAN_DATA', str(tmp_path/'B'))
    mine = next(cache_a.glob('gans/*/last.pt')).relative_to(cache_a)
    (tmp_path/'B'/mine).parent.mkdir(parents=True)
    (tmp_path/'B'/mine).write_bytes(b'trained here')
    status, out, err = imbgan('pack', 'import', str(file))
    assert status == 0 and "kept the cache's own" in out
    assert (tmp_path/'B'/mine).read_bytes() == b'trained here'
