"""The repository keeps its promises: README and CI agree, notebooks and modules in sync, one _quarto.yml."""
import json, re, shutil, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_commands():
    return re.findall(r"```bash\n(.+?)\n```", (ROOT/'README.md').read_text(), flags=re.S)


def test_ci_runs_exactly_the_readme_test_command():
    main_job, test_command = readme_commands()[:2]
    assert main_job == 'pip install -e . && imbgan run demo --out imbgan_runs/demo'
    assert test_command == 'pip install -e ".[dev]" && nbdev_test && pytest tests'
    ci_lines = (ROOT/'.ci'/'run').read_text().splitlines()
    assert test_command in ci_lines and 'dataset-fashion-mnist' in (ROOT/'.ci'/'run').read_text()


def test_readme_is_made_from_index_notebook():
    res = subprocess.run([sys.executable, str(ROOT/'tools'/'make_readme.py'), '--check'], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


def _copy_repo(dest):
    ignore = shutil.ignore_patterns('.git', '_proc', '_docs', '__pycache__', '*.egg-info', 'imbgan_runs', '.pytest_cache')
    shutil.copytree(ROOT, dest, symlinks=True, ignore=ignore)
    return dest


def test_notebooks_and_modules_in_sync_and_clean(tmp_path):
    copy = _copy_repo(tmp_path/'repo')
    for cmd in ('nbdev_export', 'nbdev_clean'):
        res = subprocess.run([cmd], cwd=copy, capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, res.stderr
    changed = [str(p.relative_to(copy)) for pattern in ('imbgan_nb/*.py', 'nbs/*.ipynb') for p in sorted(copy.glob(pattern))
               if not (ROOT/p.relative_to(copy)).exists() or p.read_bytes() != (ROOT/p.relative_to(copy)).read_bytes()]
    assert not changed, f"run nbdev_export and nbdev_clean, then commit: {changed}"


def test_one_quarto_yml_that_nbdev_keeps(tmp_path):
    link = ROOT/'nbs'/'_quarto.yml'
    assert link.is_symlink() and link.resolve() == (ROOT/'_quarto.yml').resolve()
    copy = _copy_repo(tmp_path/'repo')
    code = "from nbdev.quarto import refresh_quarto_yml; refresh_quarto_yml()"
    res = subprocess.run([sys.executable, '-c', code], cwd=copy, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert (copy/'nbs'/'_quarto.yml').is_symlink()
    assert (copy/'nbs'/'_quarto.yml').read_text() == (ROOT/'_quarto.yml').read_text()


def test_no_module_imports_private_names_of_another():
    "A module uses another's public names only: a private name is free to change with the notebook that defines it."
    import ast
    found = []
    for path in sorted((ROOT/'imbgan_nb').glob('*.py')):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or '').startswith('imbgan_nb')):
                found += [f"{path.name}: from {'.' * node.level}{node.module} import {a.name}" for a in node.names
                          if a.name.startswith('_') and not a.name.startswith('__')]
    assert not found, "make these public (and documented) or move the code that needs them:\n" + '\n'.join(found)


def test_the_sidebar_lays_out_every_notebook_once_in_parts():
    import yaml
    side = yaml.safe_load((ROOT/'nbs'/'sidebar.yml').read_text())['website']['sidebar']['contents']
    parts = [s for s in side if isinstance(s, dict)]
    listed = [p for s in side for p in ([s] if isinstance(s, str) else s['contents'])]
    notebooks = sorted(p.name for p in (ROOT/'nbs').glob('*.ipynb'))
    assert len(parts) >= 5 and all(s.get('section') for s in parts)
    assert sorted(listed) == notebooks, set(listed) ^ set(notebooks)     # each once: a new notebook cannot be forgotten


def test_the_index_table_links_every_notebook():
    index = ''.join(c for cell in json.loads((ROOT/'nbs'/'index.ipynb').read_text())['cells'] for c in cell['source'])
    for nb in (ROOT/'nbs').glob('*.ipynb'):
        if nb.stem != 'index': assert f"[`{nb.stem}`]({nb.name})" in index, nb.stem
