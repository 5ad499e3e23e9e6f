"""One request to any model, inputs made from its metadata, and the same request as a runnable call."""
