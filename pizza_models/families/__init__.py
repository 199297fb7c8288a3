"""The model families: one module per family (a ``PizzaModel`` subclass naming its ``family``), with
the networks they share. ``pizza_models.registry`` finds the families here, and only here."""
