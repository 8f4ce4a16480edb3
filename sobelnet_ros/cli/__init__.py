"""The ``sobelnet`` command line."""
