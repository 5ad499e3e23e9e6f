"""Image classification: reading image files, the one ImageNet decoder (CPU and GPU), and the classifier that
picks a model's path from its metadata."""
