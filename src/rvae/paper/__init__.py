"""The paper's reproduction: what its tables and claims are, and how a run is scored against them."""
