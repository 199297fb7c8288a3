"""What the app does besides drawing: its events and orders, the models on its shelf, the files it
keeps, the making of a layered pizza, photo restyling and the pictures to take away."""
