"""Screenshots of every page at 800 and 1400 px, in German and English, into docs/screenshots/.

    python docs/make_screenshots.py                 # all pages, both widths, both languages
    python docs/make_screenshots.py --width 800 --lang de --page sampling

Starts `streamlit run` on a free local port with the shipped models, opens each page in Debian's headless
Chromium (/usr/bin/chromium), presses Generate on Sampling, and saves NAME-WIDTH-LANG.png, reduced to
128 colours and cut to its first 3200 px so the folder stays small. About two minutes per width and
language on 2 cores.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.browser import (  # noqa: E402
    by_key,
    chromium_page,
    exception_texts,
    open_page,
    streamlit_server,
    wait_drawn,
    wait_ready,
)

PAGES = {
    "home": "",
    "corpus": "corpus",
    "training": "training",
    "sampling": "sampling",
    "inside-the-model": "inside",
    "class-board": "board",
    "bach-or-model": "listening",
    "glossary": "glossary",
    "lesson": "lesson",
    "teacher": "teacher",
}
OUT = ROOT / "docs" / "screenshots"


MAX_HEIGHT = 3200  # px: the top of a long page (Sampling's four columns) says what it looks like


def shrink(path: Path) -> None:
    """Re-save a PNG cut to MAX_HEIGHT with a 128-colour palette (a fifth of the size; text and charts
    stay sharp)."""
    from PIL import Image

    with Image.open(path) as image:
        top = image.convert("RGB").crop((0, 0, image.width, min(image.height, MAX_HEIGHT)))
    top.quantize(128, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)


def full_height(page) -> None:
    """Grow the window to the whole page and let tables and charts draw (they draw when in view)."""
    wait_drawn(page)
    height = page.evaluate(
        "() => Math.max(document.querySelector('[data-testid=\"stMain\"]').scrollHeight,"
        " document.body.scrollHeight)"
    )
    page.set_viewport_size({"width": page.viewport_size["width"], "height": min(int(height) + 40, 12000)})
    page.wait_for_timeout(3000)


def shoot(url: str, name: str, width: int, lang: str, out: Path) -> Path:
    """One page at one width and language, saved as out/NAME-WIDTH-LANG.png."""
    path = out / f"{name}-{width}-{lang}.png"
    with chromium_page(width=width, height=900) as page:
        open_page(page, url, f"{PAGES[name]}?lang={lang}", timeout=120)
        if name == "sampling":
            by_key(page, "generate", "button").click()
            wait_ready(page, timeout=120)
        problems = exception_texts(page)
        if problems:
            raise RuntimeError(f"{name} at {width} px ({lang}): {problems}")
        full_height(page)
        page.screenshot(path=str(path), full_page=True)
    shrink(path)
    return path


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments, start a server, take the screenshots."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, action="append", help="800, 1400 (default both)")
    parser.add_argument("--lang", action="append", choices=("de", "en"), help="default both")
    parser.add_argument("--page", action="append", choices=list(PAGES), help="default all")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    # A fresh class: no runs, shares or answers of this machine's earlier sessions in the pictures.
    with tempfile.TemporaryDirectory(prefix="bachlstm-screenshots-") as folder:
        env = {"BACHLSTM_RUNS_DIR": folder, "BACHLSTM_CLASS_DB": str(Path(folder) / "class.sqlite3")}
        shoot_all(args, env)


def shoot_all(args, env: dict[str, str]) -> None:
    """Every asked page, width and language, on one server started with `env`."""
    with streamlit_server(env=env, timeout=120) as url:
        for width in args.width or [800, 1400]:
            for lang in args.lang or ["de", "en"]:
                for name in args.page or list(PAGES):
                    path = shoot(url, name, width, lang, args.out)
                    print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: "
                          f"{path.stat().st_size // 1024} KB")  # fmt: skip


if __name__ == "__main__":
    main()
