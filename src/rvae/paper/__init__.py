"""The paper's reproduction: its experiments, the plan of every table, figure and sweep, tables and figures.

Built on the library (``rvae`` core); never imported by it (tests/test_layers.py).
"""
