"""The try-it photos of the Restyle tab, rendered by the kitchens: ``python scripts/restyle_examples.py``.

Writes ``examples/<kitchen>_<recipe>.png``: pizzas of the painted and the clip-art kitchen on their
own background, a little off-centre, as a phone photo of a pizza would be framed. (The app adds the 20 menu
photos from ``../shared/datasets/dodo20`` when they are there; they are never copied here.)
"""

from pathlib import Path

from PIL import Image

from pizza_models.kitchen.procedural import Kitchen
from pizza_models.kitchen.painted import PaintedKitchen

OUT = Path(__file__).resolve().parents[1] / "examples"
EXAMPLES = [("painted", PaintedKitchen(), ["tomato_sauce", "mozzarella", "pepperoni", "mushrooms"], 11),
            ("painted", PaintedKitchen(), ["tomato_sauce", "mozzarella", "ham", "pineapple", "oregano"], 12),
            ("kitchen", Kitchen(), ["tomato_sauce", "mozzarella", "olives", "bell_pepper", "red_onion"], 13)]


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for name, kitchen, recipe, seed in EXAMPLES:
        pizza = kitchen.render(recipe, seed, 224)
        table = Image.new("RGB", (320, 260), pizza.getpixel((0, 0)))  # the pizza's own background, widened
        table.paste(pizza, (62, 22))
        path = OUT / f"{name}_{'_'.join(i for i in recipe if i not in ('tomato_sauce', 'mozzarella'))}.png"
        table.save(path, optimize=True)
        print(path)


if __name__ == "__main__":
    main()
