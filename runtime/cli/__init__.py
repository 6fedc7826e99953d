"""The ``dhispatch`` command line: the one place that wires the stages together."""
