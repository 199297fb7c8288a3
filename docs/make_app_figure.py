"""Regenerate the README's top picture: ``python docs/make_app_figure.py``.

``docs/cook/app_making.png``: the Create tab at 1280 x 900 in Debian's chromium (Playwright), the
default model's sheet for a recipe (seed 3) and pizza 2 clicked, its making beside the sheet.
Starts ``python app.py`` on a free port with the shipped checkpoints and stops it after.
"""

import os
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from benchmarks.app_latency import start_app

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "cook" / "app_making.png"
LINK = "?recipe=tomato_sauce,mozzarella,pepperoni,mushrooms&doubles=&noise=1&seed=3&count=4&model=painted"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def main() -> None:
    app, url = start_app(ROOT / "checkpoints")
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(url + LINK)
            expect(page.locator("#seed input")).to_have_value("3", timeout=90_000)
            box = page.locator("#pizzas img").bounding_box()
            side = box["width"] / (4 * 66 - 2) * 66  # shown pixels per 64 px pizza and its 2 px gap
            page.mouse.click(box["x"] + side * 1.5, box["y"] + side / 2)  # pizza 2
            expect(page.locator("#cook-note")).to_contain_text("Pizza 2", timeout=90_000)
            expect(page.locator("#making-animation img")).to_have_count(1, timeout=90_000)
            page.wait_for_timeout(1000)  # the animation's first frame painted
            page.screenshot(path=OUT)
            browser.close()
    finally:
        app.terminate()
        app.wait(timeout=30)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
