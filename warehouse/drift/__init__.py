"""Cost and latency drift, in one package: `measures` defines the figures (ibis expressions over
the named tables), `detection` decides whether a series moved (the statistical tests and
`thresholds.toml`), and `queries` reads trends, change markers and flags for the page and the deck."""
