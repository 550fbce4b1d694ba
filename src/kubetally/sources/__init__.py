"""Sources: I/O that produces a Dataset (Prometheus, dumps, traces). They never decide anything."""
