"""The menu: the 20 pizzas of the original experiment's real menu, by English name, as recipes."""

# As dodo20/recipes.csv has them: examples for the app and sample grids.
MENU: dict[str, str] = {
    "Double Pepperoni": "tomato_sauce;pepperoni;pepperoni;mozzarella",
    "Crazy Pizza": "tomato_sauce;chicken;pepperoni;mozzarella;sweet_sour_sauce",
    "Don Bacon": "tomato_sauce;bacon;pepperoni;chicken;red_onion;mozzarella",
    "Ham & Mushrooms": "tomato_sauce;ham;mushrooms;mozzarella",
    "Pizza Pie": "condensed_milk;lingonberry;pineapple",
    "Margherita": "tomato_sauce;tomatoes;mozzarella;oregano",
    "Cheese": "tomato_sauce;feta;mozzarella;oregano",
    "Hawaiian": "tomato_sauce;pineapple;chicken;mozzarella",
    "Dodo": "tomato_sauce;ground_beef;ham;pepperoni;red_onion;olives;bell_pepper;mushrooms;mozzarella",
    "Four Seasons": "tomato_sauce;pepperoni;ham;feta;tomatoes;mushrooms;mozzarella;oregano",
    "Vegetables & Mushrooms": "tomato_sauce;feta;olives;bell_pepper;tomatoes;mushrooms;red_onion;mozzarella;basil",
    "Italian": "tomato_sauce;pepperoni;olives;mushrooms;mozzarella;oregano",
    "Mexican": "tomato_sauce;jalapeno;bell_pepper;chicken;tomatoes;mushrooms;red_onion;mozzarella",
    "Seafood": "tomato_sauce;shrimp;olives;bell_pepper;red_onion;mozzarella",
    "Meat": "tomato_sauce;hunter_sausages;bacon;ham;mozzarella",
    "Pepperoni": "tomato_sauce;pepperoni;mozzarella",
    "Ranch": "ranch_sauce;chicken;ham;tomatoes;garlic;mozzarella",
    "Cheesy Chicken": "cheese_sauce;chicken;tomatoes;mozzarella",
    "BBQ Chicken": "tomato_sauce;chicken;bacon;red_onion;mozzarella;bbq_sauce",
    "Cheeseburger": "cheese_sauce;beef;bacon;pickles;tomatoes;red_onion;mozzarella",
}

__all__ = ["MENU"]
