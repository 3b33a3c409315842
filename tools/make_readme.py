"""Write README.md from nbs/index.ipynb (its markdown cells), so the two never drift.

nbdev's own `nbdev_readme` does this through Quarto; this script needs nothing but the standard library,
so it also runs where Quarto cannot be installed. Usage: `python tools/make_readme.py [--check]`."""
import json, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEADER = '<!-- Generated from nbs/index.ipynb by tools/make_readme.py: edit the notebook, not this file. -->\n\n'


def render(nb_path=ROOT/'nbs'/'index.ipynb') -> str:
    "The README text: the notebook's markdown cells, in order."
    cells = json.loads(Path(nb_path).read_text(encoding='utf-8'))['cells']
    text = '\n\n'.join(''.join(c['source']).strip() for c in cells if c['cell_type'] == 'markdown')
    return HEADER + re.sub(r"\]\((\w+\.ipynb)\)", r"](nbs/\1)", text) + '\n'   # links to notebooks: from the repository's root


if __name__ == '__main__':
    text, readme = render(), ROOT/'README.md'
    if '--check' in sys.argv:
        sys.exit(0 if readme.exists() and readme.read_text(encoding='utf-8') == text else 'README.md is out of date: run python tools/make_readme.py')
    readme.write_text(text, encoding='utf-8')
