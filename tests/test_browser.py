"""End to end in a real browser: Debian's chromium driven by Playwright against ``python app.py``.

Screenshots land in test-artifacts/: {create,restyle,menu}-{1280x900,390x844}.png, error.png and
making-1280x900.png.
"""

import io
import os
import re
import urllib.request
from pathlib import Path
from typing import Optional

import pytest
from PIL import Image

from conftest import ARTIFACTS
from pizza_models.kitchen.procedural import Kitchen

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in requirements-dev.txt")
expect = sync_api.expect
expect.set_options(timeout=60_000)  # a 2-core CPU draws and encodes 16 to 28 pictures per step
SIZES = {"desktop": (1280, 900), "phone": (390, 844)}


@pytest.fixture(scope="module")
def browser(app_server):
    if not CHROMIUM.is_file():
        pytest.fail(f"no chromium at {CHROMIUM}: install Debian's package "
                    "(apt-get update && apt-get install -y chromium), as .ci/run does")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def page(browser, app_server):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(90_000)
    page.goto(app_server.url)
    yield page
    page.close()


def type_and_enter(page, picker: str, text: str, option: Optional[str] = None) -> None:
    """Type ``text`` into a picker and press Enter; with ``option``, only once that suggestion shows
    (Enter takes the highlighted suggestion, which the list may not have filtered to yet)."""
    box = page.locator(f"{picker} input[role=combobox]")
    box.click()
    box.fill(text)
    if option is not None:
        expect(page.get_by_role("option", name=option)).to_be_visible()
    box.press("Enter")
    page.keyboard.press("Escape")
    box.blur()  # leaving the box turns typed text into the ingredient it names


def assert_every_pizza_visible(page, gallery: str, count: int) -> None:
    """``count`` pictures in ``gallery``, each inside the page's width and none behind a scrollbar."""
    pizzas = page.locator(f"{gallery} img")
    expect(pizzas).to_have_count(count)
    width = page.viewport_size["width"]
    for box in (pizzas.nth(i).bounding_box() for i in range(count)):
        assert box and box["width"] > 20 and box["x"] >= 0 and box["x"] + box["width"] <= width + 1, (gallery, box)
    hidden = page.eval_on_selector(f"{gallery} .grid-wrap", "e => e.scrollHeight - e.clientHeight")
    assert hidden <= 1, f"{gallery}: {hidden} px of pictures behind a scrollbar"


def assert_captions_whole_and_below_their_pizzas(page, gallery: str) -> None:
    """Each caption shown whole (not "Tom...") under its pizza, not over it; the first row below the
    gallery's label."""
    problems = page.eval_on_selector(gallery, """g => {
        const label = g.querySelector("label").getBoundingClientRect();
        return [...g.querySelectorAll(".thumbnail-item")].flatMap(item => {
            const img = item.querySelector("img").getBoundingClientRect();
            const caption = item.querySelector(".caption-label");
            const box = caption.getBoundingClientRect();
            const out = [];
            if (caption.scrollWidth > caption.clientWidth + 1) out.push(caption.textContent + ": cut");
            if (box.top < img.bottom - 1) out.push(caption.textContent + ": over its pizza");
            if (img.top < label.bottom - 1) out.push(caption.textContent + ": under the label");
            return out;
        });
    }""")
    assert not problems, problems


def assert_sheet_visible(page, count: int, min_pizza_px: int) -> None:
    """The Create tab's one sheet of ``count`` pizzas: inside the page's width, enlarged so that each
    pizza is at least ``min_pizza_px`` wide on screen; the default model's photographic pizzas enlarged
    smoothly, as a photo is (clip-art comes as crisp squares: ``test_a_clicked_pizza_shows_its_making...``)."""
    sheet = page.locator("#pizzas img")
    expect(sheet).to_have_count(1)
    page.wait_for_function("() => document.querySelector('#pizzas img').complete")
    natural = page.eval_on_selector("#pizzas img", "e => e.naturalWidth")
    assert natural == min(count, 4) * 66 - 2, natural  # 64 px pizzas, 2 px apart, rows of four
    box, width = sheet.bounding_box(), page.viewport_size["width"]
    assert box["x"] >= 0 and box["x"] + box["width"] <= width + 1, box
    assert box["width"] / min(count, 4) >= min_pizza_px, box
    assert page.eval_on_selector("#pizzas img", "e => getComputedStyle(e).imageRendering") == "auto"


def test_enter_takes_the_highlighted_match_and_russian_names_are_suggested(page):
    expect(page.locator("#pizzas img")).to_have_count(1)  # the page comes with its first pizzas
    box = page.locator("#doubled input[role=combobox]")
    box.click()
    box.fill("пепперони")
    expect(page.get_by_role("option", name="Pepperoni · пепперони")).to_be_visible()
    page.keyboard.press("Escape")
    page.locator("#ingredients .remove-all").click()
    type_and_enter(page, "#ingredients", "tomato", option="Tomato sauce · томатный соус (sauce)")
    expect(page.locator("#ingredients .token")).to_have_text(["Tomato sauce · томатный соус (sauce)"])
    type_and_enter(page, "#ingredients", "пепперони", option="Pepperoni · пепперони")
    expect(page.locator("#ingredients .token")).to_have_text(["Tomato sauce · томатный соус (sauce)",
                                                              "Pepperoni · пепперони"])


def test_enter_takes_the_first_match_at_once_and_no_raw_chip_reaches_a_model(page):
    """Enter straight after typing (the list not yet caught up) took the typed text as a chip, and
    Generate said "unknown ingredient 'tomato'"; now Enter takes the first match, and a name the list
    does not show (an everyday one) is drawn as what it names."""
    page.locator("#ingredients .remove-all").click()
    box = page.locator("#ingredients input[role=combobox]")
    for typed in ("tomato", "пепперони"):
        box.click()
        box.fill(typed)
        box.press("Enter")  # at once
    expect(page.locator("#ingredients .token")).to_have_text(["Tomato sauce · томатный соус (sauce)",
                                                              "Pepperoni · пепперони"])
    box.fill("грибы")
    box.press("Enter")
    first = page.locator("#pizzas img").get_attribute("src")
    page.locator("#generate").click()
    expect(page.locator("#pizzas img")).not_to_have_attribute("src", first)
    expect(page.locator("#create-status")).to_have_text("")
    expect(page.locator("#ingredients .token").last).to_have_text("Mushrooms · шампиньоны")


def test_an_open_ingredient_list_never_covers_generate(page):
    page.evaluate("window.scrollTo(0, document.querySelector('#ingredients').getBoundingClientRect().top"
                  " + window.scrollY - 10)")
    for picker in ("#ingredients", "#doubled"):
        box = page.locator(f"{picker} input[role=combobox]")
        box.click()
        box.fill("a")
        options = page.locator(f"{picker} ul[role=listbox]")
        expect(options).to_be_visible()
        listed, button = options.bounding_box(), page.locator("#generate").bounding_box()
        assert listed["y"] + listed["height"] <= button["y"], (picker, listed, button)
        page.keyboard.press("Escape")
        box.fill("")
        box.blur()


def test_an_error_keeps_the_pizzas_and_its_message_until_the_next_action(page):
    first = page.locator("#pizzas img").first.get_attribute("src")
    type_and_enter(page, "#ingredients", "xyz")
    page.locator("#generate").click()
    status = page.locator("#create-status")
    expect(status).to_contain_text("unknown ingredient 'xyz'")
    page.wait_for_timeout(11_000)  # longer than a toast lives
    expect(status).to_contain_text("unknown ingredient 'xyz'")
    expect(page.locator("#pizzas img")).to_have_count(1)
    assert page.locator("#pizzas img").first.get_attribute("src") == first
    page.screenshot(path=ARTIFACTS / "error.png", full_page=True)
    # The unknown token by name: on a slow machine it need not be the last one the picker shows.
    page.locator("#ingredients .token", has_text="xyz").locator(".token-remove").click()
    expect(page.locator("#ingredients .token", has_text="xyz")).to_have_count(0)
    page.locator("#generate").click()
    expect(status).to_have_text("")


def test_a_typed_noise_value_redraws(page):
    first = page.locator("#pizzas img").first.get_attribute("src")
    number = page.locator("#noise input[type=number]")
    number.fill("0.3")
    number.press("Enter")
    expect(page.locator("#pizzas img").first).not_to_have_attribute("src", first)


def test_a_slider_drag_draws_once_when_let_go(page):
    """Dragging the noise slider across 18 steps sent 18 model calls; now one, on release."""
    joins = []
    page.on("request", lambda request: joins.append(request.url) if "queue/join" in request.url else None)
    first = page.locator("#pizzas img").get_attribute("src")
    box = page.locator("#noise input[type=range]").bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.8, y)
    page.mouse.down()
    for step in range(1, 19):
        page.mouse.move(box["x"] + box["width"] * (0.8 - step * 0.03), y)
        page.wait_for_timeout(30)
    page.mouse.up()
    expect(page.locator("#pizzas img")).not_to_have_attribute("src", first)
    page.wait_for_timeout(2000)
    assert len(joins) == 1, joins


def test_out_of_range_numbers_are_clamped_and_the_pizzas_stay(page):
    """Seed -1 or noise 5 replaced the pizzas with a red "Error" badge; now the nearest allowed value
    is drawn and shown in its field."""
    first = page.locator("#pizzas img").get_attribute("src")
    noise = page.locator("#noise input[type=number]")
    noise.fill("5")
    noise.press("Enter")
    expect(page.locator("#pizzas img")).not_to_have_attribute("src", first)
    expect(noise).to_have_value("2")
    seed = page.locator("#seed input[type=number]")
    for typed, shown in (("-1", "0"), ("1000000000000", "2147483647")):
        seed.fill(typed)
        page.locator("#generate").click()
        expect(seed).to_have_value(shown)
        expect(page.locator("#create-status")).to_have_text("")
        expect(page.locator("#pizzas img")).to_have_count(1)
    expect(page.locator(".toast-body")).to_have_count(0)


def test_a_real_menu_pizza_is_drawn_when_picked(page):
    first = page.locator("#pizzas img").get_attribute("src")
    page.locator("text=Hawaiian >> visible=true").first.click()
    expect(page.locator("#ingredients .token")).to_have_count(4)
    expect(page.locator("#pizzas img")).not_to_have_attribute("src", first)


def test_a_refused_photo_gets_a_message_and_leaves_the_upload_box_empty(page, tmp_path):
    Image.new("RGB", (1, 1), (200, 40, 30)).save(tmp_path / "dot.png")
    page.get_by_role("tab", name="Restyle").click()
    page.locator("#upload input[type=file]").set_input_files(tmp_path / "dot.png")
    expect(page.locator("#restyle-status")).to_contain_text("dot.png: 1x1 pixels is too small to be a photo")
    expect(page.locator("#upload")).not_to_contain_text("dot.png")
    page.get_by_role("tab", name="Create").click()


@pytest.mark.parametrize("size", list(SIZES))
def test_every_tab_shows_all_its_pizzas(browser, app_server, size, tmp_path):
    width, height = SIZES[size]
    page = browser.new_page(viewport={"width": width, "height": height})
    page.set_default_timeout(90_000)
    page.goto(app_server.url)
    label = f"{width}x{height}"

    page.locator("#count input[type=number]").fill("16")
    page.locator("#count input[type=number]").press("Enter")
    first = page.locator("#pizzas img").get_attribute("src")
    page.locator("#generate").click()
    expect(page.locator("#pizzas img")).not_to_have_attribute("src", first)
    assert_sheet_visible(page, 16, min_pizza_px=80 if width < 640 else 120)
    top = page.locator("#pizzas img").first.bounding_box()["y"]
    # In view after Generate: beside the controls on a desktop; on a phone the page scrolls up to them.
    assert (0 if width < 640 else -height / 2) <= top < height, top
    title = page.locator("#pizzas label").first.bounding_box()
    assert top >= title["y"] + title["height"] - 1, (top, title)  # the label does not cover the sheet
    page.screenshot(path=ARTIFACTS / f"create-{label}.png", full_page=True)
    assert page.eval_on_selector("#create-model", """model => {  // a long name ends before the arrow
        const box = model.querySelector("input"), arrow = model.querySelector(".icon-wrap");
        const text_end = box.getBoundingClientRect().right - parseFloat(getComputedStyle(box).paddingRight);
        return text_end <= arrow.getBoundingClientRect().left + 1 && getComputedStyle(box).textOverflow === "ellipsis";
    }""")

    photo = tmp_path / "pepperoni.png"
    Kitchen().render("tomato_sauce; pepperoni; mozzarella", seed=3, size=300).save(photo)
    page.get_by_role("tab", name="Restyle").click()
    page.locator("#upload input[type=file]").set_input_files(photo)
    expect(page.locator("#source .token")).not_to_have_count(0)  # the classifier's guess
    expect(page.locator("#confidence")).to_contain_text("Pepperoni")
    type_and_enter(page, "#target", "Ham")
    page.locator("#restyle").click()
    outputs = ["#input-view", "#model-view", "#reconstruction", "#restyled"]
    for output in outputs:
        expect(page.locator(f"{output} img")).to_have_count(1)
    # An <img> is in the page before its picture has loaded and been laid out (width 0 until then).
    page.wait_for_function("""ids => ids.every(id => {
        const img = document.querySelector(id + " img");
        return img && img.complete && img.naturalWidth > 0 && img.getBoundingClientRect().width > 0;
    })""", arg=outputs)
    sides = {round(page.locator(f"{o} img").bounding_box()["width"]) for o in outputs}
    assert len(sides) == 1, f"restyle pictures at different scales: {sides}"
    top = page.locator("#restyled img").bounding_box()["y"]
    assert (0 if width < 640 else -height / 2) <= top < height, top  # the result in view after Restyle
    page.screenshot(path=ARTIFACTS / f"restyle-{label}.png", full_page=True)

    page.get_by_role("tab", name="Menu").click()
    page.locator("#menu-button").click()
    assert_every_pizza_visible(page, "#menu", 28)
    assert_captions_whole_and_below_their_pizzas(page, "#menu")
    page.locator("#interpolate").click()
    assert_every_pizza_visible(page, "#strip", 8)
    page.screenshot(path=ARTIFACTS / f"menu-{label}.png", full_page=True)
    page.close()


# --------------------------------------------------------------------------- how it's made, links, downloads

MUSHROOMS = "recipe=tomato_sauce,mozzarella,pepperoni,mushrooms&doubles=&noise=1&seed=3&count=4&model=layered"


def picture(img) -> Image.Image:
    """The picture an <img> of the page shows (a locator), as the server sent it."""
    return Image.open(io.BytesIO(urllib.request.urlopen(img.get_attribute("src")).read())).convert("RGB")


def opened(browser, url: str, **context):
    """A fresh page (its own context: no state from other tests) at ``url``, its first sheet shown."""
    page = browser.new_context(viewport={"width": 1280, "height": 900}, **context).new_page()
    page.set_default_timeout(90_000)
    page.goto(url)
    expect(page.locator("#pizzas img")).to_have_count(1)
    return page


def click_pizza(page, index: int, count: int = 4) -> None:
    """Click the middle of pizza ``index`` of a sheet of ``count`` 64 px pizzas (rows of four, 2 px apart)."""
    box, across = page.locator("#pizzas img").bounding_box(), min(count, 4)
    side = box["width"] / (across * 66 - 2) * 66  # shown pixels per pizza and its gap
    page.mouse.click(box["x"] + side * (index % 4) + side * 32 / 66, box["y"] + side * (index // 4) + side * 32 / 66)


def test_a_clicked_pizza_shows_its_making_and_the_gif_has_a_frame_per_step(browser, app_server, tmp_path):
    page = opened(browser, f"{app_server.url}?{MUSHROOMS}")
    expect(page.locator("#seed input")).to_have_value("3")  # the link's values, drawn
    # The clip-art model's pizzas: each model pixel a crisp square on the page.
    assert page.eval_on_selector("#pizzas img", "e => getComputedStyle(e).imageRendering") == "pixelated"
    click_pizza(page, 1)
    steps = ["Dough", "Tomato sauce", "Mozzarella", "Pepperoni", "Mushrooms"]
    expect(page.locator("#making .caption-label")).to_have_text(steps)
    expect(page.locator("#cook-note")).to_contain_text("Pizza 2")
    expect(page.locator("#making-animation img")).to_have_count(1)
    assert page.eval_on_selector("#making img", "e => getComputedStyle(e).imageRendering") == "pixelated"
    page.screenshot(path=ARTIFACTS / "making-1280x900.png", full_page=True)
    with page.expect_download() as download:
        page.locator("#making-gif").click()
    gif = tmp_path / download.value.suggested_filename
    download.value.save_as(gif)
    assert gif.suffix == ".gif" and Image.open(gif).n_frames == len(steps)
    last = picture(page.locator("#making img").last)
    assert last.tobytes() == picture(page.locator("#pizzas img")).crop((66, 0, 130, 64)).tobytes()  # the pizza clicked
    page.context.close()


def test_a_copied_link_opened_in_a_fresh_page_shows_the_same_sheet(browser, app_server):
    page = opened(browser, app_server.url, permissions=["clipboard-read", "clipboard-write"])
    page.locator("#seed input").fill("21")
    page.locator("#count input[type=number]").fill("3")
    page.locator("#generate").click()
    expect(page).to_have_url(re.compile(r"seed=21&count=3"))  # the address follows the sheet
    page.locator("#copy-link").click()
    expect(page.locator("#copy-link")).to_have_class(re.compile("copied"))
    link = page.evaluate("navigator.clipboard.readText()")
    assert link == page.url and link.startswith(app_server.url + "?")
    fresh = opened(browser, link)
    expect(fresh.locator("#seed input")).to_have_value("21")
    fresh.wait_for_function("() => document.querySelector('#pizzas img').naturalWidth === 3 * 66 - 2")
    assert picture(fresh.locator("#pizzas img")).tobytes() == picture(page.locator("#pizzas img")).tobytes()
    fresh.context.close()
    page.context.close()


def test_a_stale_link_gets_the_forms_message_and_the_page_keeps_its_pizzas(browser, app_server):
    page = opened(browser, f"{app_server.url}?recipe=tomato_sauce,peperoni&seed=abc&count=99")
    expect(page.locator("#create-status")).to_contain_text("the seed must be a number from 0 to 2147483647, not 'abc'")
    expect(page.locator("#count input[type=number]")).to_have_value("16")  # clamped, as a typed 99 would be
    expect(page.locator("#pizzas img")).to_have_count(1)
    page.locator("#seed input").fill("4")
    page.locator("#generate").click()
    expect(page.locator("#create-status")).to_contain_text("unknown ingredient 'peperoni'; did you mean 'Pepperoni'")
    page.context.close()


def test_the_sheet_downloads_enlarged_four_times_with_its_recipe(browser, app_server, tmp_path):
    page = opened(browser, f"{app_server.url}?{MUSHROOMS}")
    expect(page.locator("#seed input")).to_have_value("3")
    with page.expect_download() as download:
        page.locator("#sheet-png").click()
    path = tmp_path / "sheet.png"
    download.value.save_as(path)
    sheet = Image.open(path)
    assert sheet.size == (4 * 262, 4 * 64) and sheet.text["Recipe"] == "tomato_sauce, mozzarella, pepperoni, mushrooms"
    assert sheet.convert("RGB").resize((262, 64), Image.Resampling.NEAREST).tobytes() == picture(page.locator("#pizzas img")).tobytes()
    page.context.close()


def test_a_model_without_layers_says_so_and_still_offers_its_pizza(browser, app_server):
    page = opened(browser, f"{app_server.url}?model=gan&count=2")
    expect(page.locator("#create-model input")).to_have_value(re.compile("Sharp sketcher"))
    click_pizza(page, 1, count=2)
    expect(page.locator("#cook-note")).to_contain_text("Pizza 2: the 'gan' model draws each pizza in one go, with no layers")
    expect(page.locator("#pizza-png")).to_be_visible()
    expect(page.locator("#making")).to_be_hidden()
    page.context.close()
