"""The evaluation: the protocol, its maths, the judges (classifier accuracy score, photo measures),
the reference columns and the reports."""
