"""What the Create tab is asked for: the sheet's link, read back as typed values, and which pizza a click is on."""

import math

import pytest

from pizza_models.app.order import Order, pizza_at, read_query

DEFAULTS = (["tomato_sauce", "mozzarella", "pepperoni"], [], 1.0, 0, 4, "layered")


def test_a_link_carries_every_field_of_the_form():
    order = Order(("tomato_sauce", "ham"), ("ham",), 0.35, 12, 5, "gan")
    assert order.query() == "recipe=tomato_sauce,ham&doubles=ham&noise=0.35&seed=12&count=5&model=gan"


def test_a_link_reads_back_as_the_values_that_made_it():
    order = Order(("tomato_sauce", "ham"), ("ham",), 1 / 3, 2**31 - 1, 16, "runs/gan 64")
    assert read_query(order.query(), DEFAULTS) == [["tomato_sauce", "ham"], ["ham"], 1 / 3, 2**31 - 1, 16, "runs/gan 64"]


def test_a_whole_noise_is_written_as_a_whole_number():
    assert "noise=1&" in Order(("ham",), (), 1.0, 0, 1, "layered").query()


def test_a_plain_visit_reads_no_values():
    assert read_query("", DEFAULTS) is None and read_query({"__theme": "dark"}, DEFAULTS) is None


def test_a_link_without_some_fields_takes_the_forms_defaults():
    assert read_query({"seed": "9"}, DEFAULTS) == [*DEFAULTS[:3], 9, *DEFAULTS[4:]]


def test_values_that_are_no_numbers_are_kept_as_typed_for_the_checks_to_refuse():
    values = read_query("noise=abc&seed=1e3&count=nan", DEFAULTS)
    assert values[2] == "abc" and values[3] == 1000.0 and math.isnan(values[4])


def test_an_empty_recipe_reads_as_no_ingredients():
    assert read_query("recipe=&doubles=", DEFAULTS)[:2] == [[], []]


@pytest.mark.parametrize("point, index", [("0,0", 0), ("63,63", 0), ("64,10", 0), ("66,0", 1), ("261,5", 3),
                                          ("10,66", 4), ("131,100", 5), ("5.7,3.2", 0)])
def test_a_click_finds_its_pizza_gaps_belonging_to_the_pizza_before(point, index):
    assert pizza_at(point, count=6, side=64) == index  # rows of four, 2 px apart: 4 + 2


@pytest.mark.parametrize("point", ["140,70", "-1,5", "300,0", "0,200"])
def test_a_click_beside_the_pizzas_is_refused(point):
    with pytest.raises(ValueError, match="pick a pizza of the sheet: that point is beside them"):
        pizza_at(point, count=6, side=64)


@pytest.mark.parametrize("point", ["", None, "12", "a,b", "1,2,3"])
def test_what_is_not_a_point_is_refused(point):
    with pytest.raises(ValueError, match="is not a point on it"):
        pizza_at(point, count=6, side=64)
