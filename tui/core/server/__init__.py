"""Servers the console starts or watches: local tritonserver processes, the bundled one, NVIDIA's container,
why a model failed, the console's server controller, the fleet and live metrics."""
