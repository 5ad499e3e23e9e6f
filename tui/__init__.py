"""The console (Textual app, panes, widgets), its headless commands, and the UI-free core under ``core``."""
