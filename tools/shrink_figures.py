"""Re-encode the PNG figures in the committed notebook outputs as palette PNGs (at most 256 colours), keeping each only
where it is smaller. Matplotlib's figures use few colours, so this keeps them visually the same at a fraction of the
bytes, and keeps `nbs/` small (tests/test_course.py checks its size). The figures still come from the real run:
only their encoding changes. An output that carries both a widget's view and a picture of it (the kit's widgets give
both) keeps the picture only: a saved notebook holds no widget state, so no page or viewer can show the view, and a
renderer that tries would show nothing instead of the picture; a live run makes the widget again. For the same reason
a notebook's saved widget state (`metadata.widgets`, hundreds of kB after a lab run) is dropped once no output shows a view.

    python tools/shrink_figures.py [NOTEBOOK ...]     (default: every notebook in nbs/)
"""
import base64, io, json, sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def shrink_png(data:bytes) -> bytes:
    "The same picture as a palette PNG (256 colours, optimised), or the original bytes when that is not smaller."
    img = Image.open(io.BytesIO(data))
    if img.mode == 'P': return data
    img = img.convert('RGBA') if img.mode in ('LA', 'RGBA') or 'transparency' in img.info else img.convert('RGB')
    out = io.BytesIO()
    img.quantize(colors=256, method=Image.Quantize.FASTOCTREE).save(out, format='PNG', optimize=True)
    return out.getvalue() if out.tell() < len(data) else data


def shrink_notebook(path:Path) -> tuple[int, int]:
    "Rewrite a notebook's PNG outputs in place; (bytes before, bytes after) of its figures."
    nb, before, after, views = json.loads(path.read_text()), 0, 0, 0
    for cell in nb['cells']:
        for out in cell.get('outputs', []):
            if 'image/png' in out.get('data', {}) and out['data'].pop('application/vnd.jupyter.widget-view+json', None): views += 1
            png = out.get('data', {}).get('image/png')
            if png is None: continue
            raw = base64.b64decode(''.join(png) if isinstance(png, list) else png)
            small = shrink_png(raw)
            before, after = before + len(raw), after + len(small)
            out['data']['image/png'] = base64.b64encode(small).decode('ascii')   # as nbdev_clean writes it: no newline
    shown = any('application/vnd.jupyter.widget-view+json' in out.get('data', {}) for cell in nb['cells'] for out in cell.get('outputs', []))
    state = nb.get('metadata', {}).pop('widgets', None) if not shown else None     # the state of widgets no output shows
    if after < before or views or state: path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n')
    return before, after


if __name__ == '__main__':
    paths = [Path(p) for p in sys.argv[1:]] or sorted((ROOT/'nbs').glob('*.ipynb'))
    total = [0, 0]
    for p in paths:
        b, a = shrink_notebook(p)
        total[0] += b; total[1] += a
        if b: print(f"{p.name}: figures {b // 1024} KB -> {a // 1024} KB")
    print(f"all: {total[0] // 1024} KB -> {total[1] // 1024} KB")
