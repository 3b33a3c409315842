"""Every notebook reads as a lesson: it opens with what the student will learn, why it matters and what to know first,
and ends with 2 to 4 exercises tied to a knob of the kit, each with a worked solution folded away (a Quarto callout
with `collapse="true"`, collapsed on the site and a click away in JupyterLab), and a "where to go next".

The home page (`index.ipynb`) is the README and the course's table of contents, not a lesson: it is left out."""
import json, re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted(p for p in (ROOT/'nbs').glob('*.ipynb') if p.stem != 'index')
LEARN_BOX = re.compile(r"^::: \{\.callout-note\}\s*\n## What you will learn\n(?P<body>.*?)\n:::\s*$", re.S)
EXERCISES = re.compile(r"^## Exercises\n", re.M)
EXERCISE_ITEM = re.compile(r"^(\d)\. \*\*[^*]+\*\*", re.M)
SOLUTION = re.compile(r"^::: \{\.callout-tip collapse=\"true\"\}\s*\n## Solution (\d)\n(?P<body>.*?)\n:::\s*$", re.S | re.M)
NEXT = re.compile(r"^## Where to go next\n", re.M)


def _src(cell) -> str: return ''.join(cell['source']) if isinstance(cell['source'], list) else cell['source']


def lesson_problems(nb:dict) -> list[str]:
    "What a notebook lacks of the lesson's frame (an empty list when it has all of it)."
    md = [_src(c) for c in nb['cells'] if c['cell_type'] == 'markdown']
    problems = []
    if not md or not md[0].startswith('# '): return ['the first markdown cell is not the title']
    box = LEARN_BOX.match(md[1].strip() + '\n') if len(md) > 1 else None
    if not box: problems.append('the cell after the title is not the "What you will learn" callout')
    else:
        body = box['body']
        if len(re.findall(r"^- ", body, re.M)) < 2: problems.append('the learn box lists fewer than 2 things to learn')
        for part in ('**Why it matters.**', '**Before you start.**'):
            if part not in body: problems.append(f'the learn box has no {part}')
    at = [i for i, s in enumerate(md) if EXERCISES.search(s)]
    if len(at) != 1: return problems + [f'{len(at)} "## Exercises" sections (expected one)']
    items = [int(n) for n in EXERCISE_ITEM.findall(md[at[0]])]
    if not 2 <= len(items) <= 4 or items != list(range(1, len(items) + 1)):
        problems.append(f'exercises numbered {items}: expected 2 to 4, numbered from 1, each with a bold title')
    after = '\n'.join(md[at[0]:])
    solutions = [m for m in SOLUTION.finditer(after)]
    if [int(m[1]) for m in solutions] != items: problems.append(f'solutions {[int(m[1]) for m in solutions]} for exercises {items}: one folded solution per exercise, in order')
    if any(len(m['body'].split()) < 25 for m in solutions): problems.append('a solution of fewer than 25 words: work it out')
    if not NEXT.search(after): problems.append('no "## Where to go next" after the exercises')
    return problems


@pytest.mark.parametrize('path', LESSONS, ids=[p.stem for p in LESSONS])
def test_every_notebook_is_a_lesson(path):
    problems = lesson_problems(json.loads(path.read_text()))
    assert not problems, f"{path.name}: " + '; '.join(problems)


def _nb(*md): return {'cells': [{'cell_type': 'markdown', 'source': s} for s in md]}
BOX = ('::: {.callout-note}\n## What you will learn\n- one\n- two\n\n**Why it matters.** x\n\n**Before you start.** y\n:::')
WORK = ' '.join(['word'] * 30)


def test_the_lesson_check_catches_what_it_is_for():
    good = ['# T\n\n> s', BOX, 'text', '## Exercises\n\n1. **A.** q\n2. **B.** q',
            f'::: {{.callout-tip collapse="true"}}\n## Solution 1\n{WORK}\n:::',
            f'::: {{.callout-tip collapse="true"}}\n## Solution 2\n{WORK}\n:::', '## Where to go next\n\nOn.']
    def changed(i, text): return _nb(*good[:i], text, *good[i+1:])
    assert lesson_problems(_nb(*good)) == []
    assert lesson_problems(changed(1, 'text'))                                                   # no learn box
    assert lesson_problems(changed(1, BOX.replace('**Why it matters.** x', '')))                 # a part missing
    assert lesson_problems(changed(3, '## Exercises\n\n1. **A.** q'))                          # 1 exercise, 2 solutions
    assert lesson_problems(changed(5, good[5].replace(' collapse="true"', '')))                  # a solution not folded
    assert lesson_problems(changed(4, '::: {.callout-tip collapse="true"}\n## Solution 1\nYes.\n:::'))   # not worked out
    assert lesson_problems(_nb(*good[:-1]))                                                      # no way on


NBS_LIMIT = 3 * 1024 * 1024   # bytes: a clone stays quick to fetch and the site quick to load


def test_notebooks_stay_small():
    size = sum(p.stat().st_size for p in (ROOT/'nbs').rglob('*') if p.is_file())
    assert size < NBS_LIMIT, (f"nbs/ holds {size / 2**20:.2f} MB (limit {NBS_LIMIT / 2**20:.0f} MB): run `python tools/shrink_figures.py`, "
                              "keep fewer or smaller figures, and no long logs in outputs")


def test_every_mention_of_another_notebook_is_a_link():
    "Prose names another notebook as **06 DCGAN**: on the site that is a link to its page, not bold text alone."
    bold = re.compile(r"(?<!\[)\*\*(\d\d[a-z]?) [^*\n]{2,60}?\*\*(?!\]\()")
    unlinked = []
    for path in sorted((ROOT/'nbs').glob('*.ipynb')):
        for cell in json.loads(path.read_text())['cells']:
            if cell['cell_type'] != 'markdown': continue
            prose = re.sub(r"```.*?```|`[^`\n]*`", '', ''.join(cell['source']), flags=re.S)
            unlinked += [f"{path.stem}: {m.group(0)}" for m in bold.finditer(prose) if not path.stem.startswith(m.group(1) + '_')]
    assert not unlinked, unlinked


def test_no_notebook_keeps_widget_state_that_no_output_shows():
    "A lab run saves every widget's state (hundreds of kB) in the notebook's metadata; with no widget view among the outputs nothing can show it."
    keeps = []
    for p in sorted((ROOT/'nbs').glob('*.ipynb')):
        nb = json.loads(p.read_text())
        shown = any('application/vnd.jupyter.widget-view+json' in o.get('data', {}) for c in nb['cells'] for o in c.get('outputs', []))
        if 'widgets' in nb.get('metadata', {}) and not shown: keeps.append(p.name)
    assert not keeps, f"{keeps} keep widget state no output shows: run `python tools/shrink_figures.py`"
