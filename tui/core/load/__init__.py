"""Load: the console's load generator, perf_analyzer as a second engine, and model comparison."""
