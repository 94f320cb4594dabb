"""The paper's reproduction: its experiments, the plan of every table, figure and sweep, tables,
figures, and how a run is scored against the paper's claims.

Built on the library (``rvae`` core); never imported by it (tests/test_layers.py).
"""
