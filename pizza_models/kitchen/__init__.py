"""The kitchens: the procedural renderer of photo-like pizzas, its piece shapes, and the painted kitchen
(the same pizzas painted with the 20 menu photos, from ``photo_bank/``)."""
