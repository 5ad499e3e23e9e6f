"""What the console's core and the build tools both stand on: errors, progress, paths, atomic files, labels,
untrusted text. Imports nothing of ours above it."""
