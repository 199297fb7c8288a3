"""End to end in a real browser: Debian's chromium driven by Playwright against ``python app.py``.

Screenshots land in test-artifacts/ (create.png, restyle.png, error.png).
"""

import os
from pathlib import Path

import pytest

from conftest import ARTIFACTS
from pizza_models.kitchen import Kitchen

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in requirements-dev.txt")
expect = sync_api.expect


@pytest.fixture(scope="module")
def page(app_server):
    if not CHROMIUM.is_file():
        pytest.fail(f"no chromium at {CHROMIUM}: install Debian's package (apt-get install chromium), as .ci/run does")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.set_default_timeout(90_000)
        page.goto(app_server.url)
        yield page
        browser.close()


def pick(page, picker: str, ingredient: str) -> None:
    """Type into a multiselect, click the matching option, close the list."""
    box = page.locator(f"{picker} input[role=combobox]")
    box.click()
    box.fill(ingredient)
    page.get_by_role("option", name=ingredient, exact=True).click()
    page.keyboard.press("Escape")


def test_picking_ingredients_and_generating_shows_new_pizzas(page):
    pizzas = page.locator("#pizzas img")
    expect(pizzas).to_have_count(4)  # the page draws the default recipe on load
    first = pizzas.first.get_attribute("src")
    pick(page, "#ingredients", "Ham")
    page.locator("#generate").click()
    expect(pizzas.first).not_to_have_attribute("src", first)
    expect(pizzas).to_have_count(4)
    page.screenshot(path=ARTIFACTS / "create.png", full_page=True)


def test_uploading_a_photo_and_restyling_shows_the_result(page, tmp_path):
    photo = tmp_path / "pepperoni.png"
    Kitchen().render("tomato_sauce; pepperoni; mozzarella", seed=3, size=300).save(photo)
    page.get_by_role("tab", name="Restyle").click()
    page.locator("#upload input[type=file]").set_input_files(photo)
    expect(page.locator("#photo img")).to_have_count(1)
    expect(page.locator("#source .token")).not_to_have_count(0)  # the classifier's guess
    pick(page, "#target", "Ham")
    page.locator("#restyle").click()
    for output in ("#model-view", "#reconstruction", "#restyled"):
        expect(page.locator(f"{output} img")).to_have_count(1)
    page.screenshot(path=ARTIFACTS / "restyle.png", full_page=True)


def test_an_empty_recipe_shows_a_readable_error(page):
    page.get_by_role("tab", name="Create").click()
    page.locator("#ingredients .remove-all").click()
    page.locator("#generate").click()
    expect(page.get_by_text("the recipe is empty: pick at least one ingredient")).to_be_visible()
    page.screenshot(path=ARTIFACTS / "error.png", full_page=True)
