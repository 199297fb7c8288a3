"""Recipes: vocabulary, parsing, both encodings and every parse error."""

import csv
import time

import pytest
import torch

from pizza_models.recipe import (
    DEFAULT_VOCABULARY,
    Ingredient,
    MAX_NAMES,
    MAX_PORTIONS,
    Recipe,
    Vocabulary,
    counts,
    encode,
    encoding_size,
    from_counts,
    from_slot_code,
    parse_recipe,
    slot_code,
)

MEAT = ["tomato_sauce", "hunter_sausages", "bacon", "ham", "mozzarella"]


def test_default_vocabulary_is_the_original_28_in_order(dodo20):
    with open(dodo20 / "ingredients.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert DEFAULT_VOCABULARY.ids == tuple(r["ingredient"] for r in rows)
    assert [i.name_ru for i in DEFAULT_VOCABULARY] == [r["name_ru"] for r in rows]


def test_vocabulary_has_28_ingredients_and_261_slot_values():
    assert len(DEFAULT_VOCABULARY) == 28
    assert encoding_size("counts") == 28
    assert encoding_size("slot_code") == 261


@pytest.mark.parametrize("name", ["tomato_sauce", "Tomato sauce", "TOMATO SAUCE", "  tomato-sauce ", "томатный соус"])
def test_parse_accepts_id_english_and_russian_names_in_any_case(name):
    assert parse_recipe([name]).portions == ("tomato_sauce",)


def test_parse_accepts_comma_and_semicolon_separated_strings():
    assert parse_recipe("mozzarella; Tomato sauce, pepperoni") == Recipe(("tomato_sauce", "mozzarella", "pepperoni"))


def test_parse_mixes_english_and_russian():
    assert parse_recipe("пепперони, Mozzarella, томатный соус") == parse_recipe("tomato_sauce;mozzarella;pepperoni")


def test_parse_folds_yo_into_ye():
    assert parse_recipe(["цыплёнок"]).portions == ("chicken",)


def test_portions_come_out_in_vocabulary_order():
    assert parse_recipe(["pickles", "tomato_sauce", "bacon"]).portions == ("tomato_sauce", "bacon", "pickles")


def test_repeated_ingredient_is_a_double_portion():
    recipe = parse_recipe("tomato_sauce;pepperoni;pepperoni;mozzarella")
    assert recipe.count("pepperoni") == 2
    assert counts(recipe)[DEFAULT_VOCABULARY.index("pepperoni")] == 2


def test_unknown_ingredient_error_names_it_and_suggests_close_names():
    with pytest.raises(ValueError, match=r"unknown ingredient 'peperoni'; did you mean 'Pepperoni'"):
        parse_recipe("tomato_sauce, peperoni")


def test_suggestions_are_display_names_never_ids():
    for typo in ("peperoni", "tomato sause", "hunter sausags", "bbq sause", "jalapenio", "грибб", "sweet sour"):
        suggestions = DEFAULT_VOCABULARY.suggest(typo)
        assert suggestions and set(suggestions) <= {i.name for i in DEFAULT_VOCABULARY}, (typo, suggestions)
    assert DEFAULT_VOCABULARY.suggest("hunter sausags")[0] == "Hunter sausages"


@pytest.mark.parametrize("name, ingredient", [
    ("mushroom", "mushrooms"), ("mushrooms", "mushrooms"), ("гриб", "mushrooms"), ("грибы", "mushrooms"),
    ("шампиньон", "mushrooms"), ("ветчина", "ham"), ("ананас", "pineapple"), ("ананасы", "pineapple"),
    ("pineapples", "pineapple"), ("olive", "olives"), ("olives", "olives"), ("оливки", "olives"),
    ("маслина", "olives"), ("onion", "red_onion"), ("onions", "red_onion"), ("лук", "red_onion"),
    ("помидоры", "tomatoes"), ("помидор", "tomatoes"), ("pepper", "bell_pepper"), ("перец", "bell_pepper"),
    ("курица", "chicken"), ("сыр", "mozzarella"), ("cheese", "mozzarella"), ("shrimps", "shrimp"),
    ("креветка", "shrimp"), ("sausage", "hunter_sausages"), ("колбаски", "hunter_sausages"), ("pickle", "pickles"),
    ("огурцы", "pickles"), ("jalapeño", "jalapeno"), ("bbq", "bbq_sauce"), ("барбекю", "bbq_sauce"),
    ("сгущёнка", "condensed_milk"), ("фарш", "ground_beef"), ("ground beef", "ground_beef"), ("ranch", "ranch_sauce"),
])
def test_everyday_english_and_russian_names_singular_and_plural(name, ingredient):
    assert parse_recipe([name]).portions == (ingredient,)
    assert parse_recipe([name.upper()]).portions == (ingredient,)


def test_no_name_means_two_ingredients():
    seen = {}
    for ingredient in DEFAULT_VOCABULARY:
        for name in ingredient.names:
            key = " ".join(name.casefold().replace("ё", "е").replace("_", " ").replace("-", " ").split())
            assert seen.setdefault(key, ingredient.id) == ingredient.id, (name, seen[key], ingredient.id)
    with pytest.raises(ValueError, match="'ham' names both"):
        Vocabulary((DEFAULT_VOCABULARY.ingredients[7], Ingredient("jamon", "Jamon", "хамон", aliases=("ham",))))


def test_every_unknown_ingredient_is_reported_at_once():
    with pytest.raises(ValueError) as error:
        parse_recipe(["chiken", "mozarella", "tomato_sauce"])
    assert "'chiken'" in str(error.value) and "'mozarella'" in str(error.value)


def test_more_than_nine_portions_is_an_error():
    ten = ["tomato_sauce", "mozzarella", "red_onion", "tomatoes", "chicken", "mushrooms", "pepperoni", "ham", "bacon", "olives"]
    with pytest.raises(ValueError, match=f"10 portions is too many.*at most {MAX_PORTIONS}"):
        parse_recipe(ten)


def test_more_than_a_double_portion_is_an_error():
    with pytest.raises(ValueError, match="pepperoni appears 3 times"):
        parse_recipe(["pepperoni"] * 3)


@pytest.mark.parametrize("empty", ["", " ; , ", []])
def test_empty_recipe_is_an_error_where_one_is_required(empty):
    with pytest.raises(ValueError, match="empty"):
        parse_recipe(empty)


def test_empty_recipe_is_allowed_when_asked():
    assert parse_recipe("", allow_empty=True) == Recipe(())


def test_counts_round_trip():
    recipe = parse_recipe(MEAT + ["bacon"])
    assert from_counts(counts(recipe)) == recipe


def test_counts_decode_a_soft_prediction():
    code = counts(MEAT) * 0.9 + 0.05
    assert from_counts(code) == parse_recipe(MEAT)


def test_slot_code_is_nine_one_hot_slots_filled_in_vocabulary_order():
    code = slot_code(MEAT).reshape(9, 29)
    assert torch.equal(code.sum(dim=1), torch.ones(9))
    expected = sorted(DEFAULT_VOCABULARY.index(i) for i in MEAT) + [28] * 4  # 28 is "none"
    assert code.argmax(dim=1).tolist() == expected


def test_slot_code_round_trip_with_double_portion():
    recipe = parse_recipe("tomato_sauce;pepperoni;pepperoni;mozzarella")
    assert from_slot_code(slot_code(recipe)) == recipe


def test_full_nine_portion_recipe_round_trips_both_ways():
    nine = parse_recipe("tomato_sauce;ground_beef;ham;pepperoni;red_onion;olives;bell_pepper;mushrooms;mozzarella")
    assert from_slot_code(slot_code(nine)) == nine
    assert from_counts(counts(nine)) == nine


def test_encode_rejects_an_unknown_encoding():
    with pytest.raises(ValueError, match="unknown recipe encoding 'onehot'"):
        encode(MEAT, "onehot")


def test_vocabulary_from_manifest_lists_its_ingredients_in_order(tmp_path):
    manifest = tmp_path / "recipes.csv"
    manifest.write_text("image,ingredients\na.png,tomato_sauce;anchovy\nb.png,anchovy;capers\n", encoding="utf-8")
    vocabulary = Vocabulary.from_manifest(manifest)
    assert vocabulary.ids == ("tomato_sauce", "anchovy", "capers")
    assert vocabulary.ingredients[0].name == "Tomato sauce"
    assert counts("capers, anchovy", vocabulary).tolist() == [0, 1, 1]


def test_menu_recipes_match_the_real_manifest(dodo20):
    from pizza_models.menu import MENU

    with open(dodo20 / "recipes.csv", encoding="utf-8") as f:
        rows = {r["name"]: r["ingredients"] for r in csv.DictReader(f)}
    assert {name: parse_recipe(text) for name, text in MENU.items()} == {n: parse_recipe(t) for n, t in rows.items()}


# --------------------------------------------------------------------------- untrusted input


@pytest.mark.parametrize("items, message", [
    ([1, "ham"], "item 1 is a number, not an ingredient name"),
    (["ham", None], "item 2 is null, not an ingredient name"),
    ([["ham", "bacon"]], "item 1 is a list, not an ingredient name"),
    (42, "a recipe is a list of ingredient names or a comma-separated string, not a number"),
])
def test_names_of_the_wrong_type_are_refused_with_what_they_are(items, message):
    with pytest.raises(ValueError, match=message):
        parse_recipe(items)


@pytest.mark.parametrize("recipe", [["peperoni"] * 10_000, ";".join(["x"] * 40_000)])
def test_thousands_of_names_are_refused_before_any_matching(recipe):
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"^\d+ names is far too many: a pizza holds at most 9 portions$"):
        parse_recipe(recipe)
    assert time.perf_counter() - start < 0.1  # matching 10,000 unknown names took 6 s


def test_a_recipe_error_lists_the_first_three_problems_and_counts_the_rest():
    with pytest.raises(ValueError) as error:
        parse_recipe([f"unknown{i}" for i in range(MAX_NAMES)])
    message = str(error.value)
    assert message.count("unknown ingredient") == 3 and message.endswith(f"and {MAX_NAMES - 3 + 1} more problems")
    assert len(message) < 300


def test_a_name_longer_than_any_ingredient_is_refused_short():
    with pytest.raises(ValueError, match="is 5000 characters long") as error:
        parse_recipe(["x" * 5000])
    assert len(str(error.value)) < 120


@pytest.mark.parametrize("typed, first", [("tomato", "tomato_sauce"), ("пепперони", "pepperoni"), ("моцар", "mozzarella"),
                                          ("Tomatoes", "tomatoes"), ("ONION", "red_onion"), ("sauce", "tomato_sauce")])
def test_matches_offers_what_a_search_box_would_first(typed, first):
    assert DEFAULT_VOCABULARY.matches(typed, close=False)[0] == first


def test_matches_falls_back_to_close_spellings_only_when_asked():
    assert DEFAULT_VOCABULARY.matches("peperoni")[0] == "pepperoni"
    assert DEFAULT_VOCABULARY.matches("peperoni", close=False) == []
