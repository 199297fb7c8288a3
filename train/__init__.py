"""The training CLI: ``python -m train --help``."""
