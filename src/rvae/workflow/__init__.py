"""Snakemake glue: config checks, the params each job gets, the path registry, script start-up.

Built on the library and the paper layer; neither imports it (tests/test_layers.py).
"""
