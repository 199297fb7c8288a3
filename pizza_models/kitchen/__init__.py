"""The kitchens: the procedural renderer of photo-like pizzas, its piece shapes, and the painted kitchen
(the same pizzas painted with the 20 menu photos, from the photo bank ``bank.py`` saves in ``photo_bank/``)."""
