"""The console's panes: each renders what the app hands it and dispatches its keys to workers."""
