"""Committed notebooks speak of the kit, not of the machine that ran them, and keep imports in cells of their own.

nbdev's doc build executes every cell that holds an import (and every exported cell); a cell that mixes an import
with other code would then re-run work at docs time, or fail on names from cells that did not run. Committed outputs
and prose must hold no absolute path into a home folder, the root user's folder or a temp folder, and no note about
the development machine (its load, its cores, what it could not download)."""
import ast, json, re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT/'nbs').glob('*.ipynb'))
# Notebooks another branch is fixing right now (GAMO's imports, paths and notes): expected to fail here until it lands.
PENDING = {}

MACHINE_PATH = re.compile(r"(?<![\w.])(/root/|/home/\w|/Users/\w|/tmp/\w|/var/folders/|/private/var/|[A-Z]:\\\\Users\\\\)")
MACHINE_NOTES = re.compile(r"load average|shared with other jobs|other jobs on the machine|development machine|"
                           r"\bno GPU (?:was|is) available|\b\d+-core\b|cannot be downloaded (?:here|on this machine)|NVIDIA-SMI",
                           re.I)
EXEC_DIRECTIVES = {'export', 'exports', 'exporti', 'exec_doc'}


def _src(cell) -> str: return ''.join(cell['source']) if isinstance(cell['source'], list) else cell['source']


def _texts(nb:dict):
    "(where, text) of the prose and of every text output of a notebook."
    for i, cell in enumerate(nb['cells']):
        if cell['cell_type'] == 'markdown': yield f"cell {i} (prose)", _src(cell)
        for out in cell.get('outputs', []):
            if out.get('output_type') == 'error': yield f"cell {i} (error output)", '\n'.join(out.get('traceback', []))
            for t in [out.get('text', '')] + [v for k, v in out.get('data', {}).items() if k.startswith('text/')]:
                yield f"cell {i} (output)", ''.join(t) if isinstance(t, list) else t


def machine_leaks(nb:dict) -> list[str]:
    "Absolute machine paths and machine notes in a notebook's prose and outputs."
    found = []
    for where, text in _texts(nb):
        for pat in (MACHINE_PATH, MACHINE_NOTES):
            for m in pat.finditer(text): found.append(f"{where}: ...{text[max(0, m.start()-50):m.end()+50]!r}...")
    return found


def _directives(src:str) -> set:
    return {l.split('|', 1)[1].split()[0].rstrip(':') for l in src.splitlines() if re.match(r'\s*#\|\s*\S', l)}


def mixed_import_cells(nb:dict) -> list[str]:
    "Cells nbdev's doc build would execute for their imports although they also hold other code."
    found = []
    for i, cell in enumerate(nb['cells']):
        src = _src(cell)
        if cell['cell_type'] != 'code' or not src.strip() or 'nbdev_export()' in src or _directives(src) & EXEC_DIRECTIVES: continue
        tree = ast.parse('\n'.join(l for l in src.splitlines() if not l.lstrip().startswith(('%', '!'))))
        imports = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
        if imports and not all(isinstance(n, (ast.Import, ast.ImportFrom)) for n in tree.body):
            found.append(f"cell {i}: {src[:120]!r}")
    return found


# A call that draws a figure: the kit's show_*/plot_* helpers (not nbdev's show_doc) and matplotlib's pyplot.
PLOT_CALL = re.compile(r"^(?!show_doc\b)(?:show_\w+|plot_\w+|plt\.(?!close\b)\w+)\(", re.M)


def missing_figures(nb:dict) -> list[str]:
    """In an executed notebook (one with committed outputs), the cells that draw but hold no image output. A notebook run
    with MPLBACKEND=Agg loses every figure without an error: this is how that shows."""
    code = [(i, c) for i, c in enumerate(nb['cells']) if c['cell_type'] == 'code']
    if not any(c.get('outputs') for _, c in code): return []
    return [f"cell {i}: {_src(c)[:80]!r}" for i, c in code
            if PLOT_CALL.search(_src(c)) and not _directives(_src(c)) & {'export', 'exports', 'exporti', 'eval: false'}
            and not any('image/png' in o.get('data', {}) or 'image/svg+xml' in o.get('data', {}) for o in c.get('outputs', []))]


def private_links(nb:dict, symbols:set) -> list[str]:
    "Backticked private names of the kit in the prose: nbdev links them to an API anchor that no page has."
    return [f"cell {i}: `{m}`" for i, c in enumerate(nb['cells']) if c['cell_type'] == 'markdown'
            for m in re.findall(r"`(_\w+)`", _src(c)) if m in symbols]


def _kit_symbols() -> set:
    from imbgan_nb import _modidx
    return {k.split('.')[-1] for syms in _modidx.d['syms'].values() for k in syms}


def undocumented_method_links(nb:dict, methods:set, documented:set) -> list[str]:
    """Backticked `Class.method` names of the kit in the prose without a `show_doc` of them in any notebook: nbdev links
    them to an anchor that only a show_doc makes (a call such as `Class.method(x)` counts too)."""
    return [f"cell {i}: `{m}`" for i, c in enumerate(nb['cells']) if c['cell_type'] == 'markdown'
            for m in re.findall(r"`([A-Z]\w*\.\w+)[`(]", _src(c)) if m in methods and m not in documented]


def _kit_methods() -> set:
    from imbgan_nb import _modidx
    return {k.split('.', 2)[-1] for syms in _modidx.d['syms'].values() for k in syms if k.count('.') >= 3}


def _documented() -> set:
    return {m for p in NOTEBOOKS for m in re.findall(r"show_doc\(([\w.]+)", p.read_text())}


def _cases():
    for p in NOTEBOOKS:
        marks = [pytest.mark.xfail(reason=f"being fixed on the {PENDING[p.name]}", strict=False)] if p.name in PENDING else []
        yield pytest.param(p, id=p.stem, marks=marks)


@pytest.mark.parametrize('path', _cases())
def test_no_machine_paths_or_notes(path):
    leaks = machine_leaks(json.loads(path.read_text()))
    assert not leaks, "print run folders relative to the data cache or the run root (data.short_path), and describe the kit, not the machine:\n" + '\n'.join(leaks)


@pytest.mark.parametrize('path', _cases())
def test_imports_stand_in_cells_of_their_own(path):
    mixed = mixed_import_cells(json.loads(path.read_text()))
    assert not mixed, "move these imports into a cell of their own (nbdev's doc build runs every cell with an import):\n" + '\n'.join(mixed)


@pytest.mark.parametrize('path', _cases())
def test_executed_notebooks_keep_their_figures(path):
    missing = missing_figures(json.loads(path.read_text()))
    assert not missing, "re-run the notebook without MPLBACKEND=Agg (Jupyter's inline backend keeps the figures):\n" + '\n'.join(missing)


@pytest.mark.parametrize('path', _cases())
def test_prose_links_only_public_names(path):
    found = private_links(json.loads(path.read_text()), _kit_symbols())
    assert not found, "describe the private helper in words, or name the public function that uses it:\n" + '\n'.join(found)


@pytest.mark.parametrize('path', _cases())
def test_prose_links_only_documented_methods(path):
    found = undocumented_method_links(json.loads(path.read_text()), _kit_methods(), _documented())
    assert not found, "add a show_doc(Class.method) cell where the class is defined, or name the method without its class:\n" + '\n'.join(found)


def test_readme_has_no_machine_paths():
    text = (ROOT/'README.md').read_text()
    assert not MACHINE_PATH.search(text) and not MACHINE_NOTES.search(text)


def _nb(*cells): return {'cells': list(cells)}
def _md(s): return {'cell_type': 'markdown', 'source': s}
def _code(s, *outputs): return {'cell_type': 'code', 'source': s, 'outputs': list(outputs)}
def _stream(s): return {'output_type': 'stream', 'name': 'stdout', 'text': s}


def test_the_checks_catch_what_they_are_for():
    "The checks themselves, on planted notebooks: each leak and each mixed cell is found, clean ones pass."
    assert machine_leaks(_nb(_code('run()', _stream("3 rows already done in /root/.cache/imbgan_nb/runs/000_laptop\n"))))
    assert machine_leaks(_nb(_code('run()', _stream("folder /tmp/tmp_fky8ait/demo\n"))))
    assert machine_leaks(_nb(_code('x', {'output_type': 'execute_result', 'data': {'text/plain': "PosixPath('/home/ann/x')"}})))
    assert machine_leaks(_nb(_md("It took 45 minutes on the 2-core CPU, shared with other jobs.")))
    assert machine_leaks(_nb(_md("MNIST cannot be downloaded here.")))
    assert not machine_leaks(_nb(_md("Debian puts it in `/usr/share/datasets/fashion-mnist`."),
                                 _code('run()', _stream("3 rows already done in <cache>/runs/000_laptop\n"))))
    assert mixed_import_cells(_nb(_code("import torch\nx = torch.zeros(2)")))
    assert mixed_import_cells(_nb(_code("#| hide\nfrom imbgan_nb.core import RunClock\nclock = RunClock()")))
    assert mixed_import_cells(_nb(_code("def f():\n    import os\n    return os.sep")))
    png = {'output_type': 'display_data', 'data': {'image/png': 'iVBOR', 'text/plain': '<Figure>'}}
    assert missing_figures(_nb(_code("x = 1", _stream("ok\n")), _code("plot_history(history, 'DCGAN');")))
    assert not missing_figures(_nb(_code("plot_history(history, 'DCGAN');", png), _code("show_doc(f)")))
    assert not missing_figures(_nb(_code("plot_history(history, 'DCGAN');")))   # never executed: nothing to keep
    assert private_links(_nb(_md("through `_one_line`.")), {'_one_line'})
    assert not private_links(_nb(_md("through `one_line` and `_other`.")), {'_one_line', 'one_line'})
    assert undocumented_method_links(_nb(_md("call `GAN.d_step` or `GAN.g_step(fake)`")), {'GAN.d_step', 'GAN.g_step'}, {'GAN.d_step'}) == ["cell 0: `GAN.g_step`"]
    assert not mixed_import_cells(_nb(_code("#| hide\nimport torch\nfrom pathlib import Path"), _code("x = 1"),
                                      _code("#| export\nimport os\ndef f(): return os.sep")))
