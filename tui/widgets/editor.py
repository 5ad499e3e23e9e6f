"""A TextArea whose editing keys take effect in the order they were typed.

Textual inserts a printable key in the TextArea's own key handler, but runs a key bound to an action
(backspace, delete, the arrows, home/end, ctrl+w...) only once the key event has bubbled up from the widget to
the app, one message queue per level. A fast burst such as ``4 backspace 5 backspace 6`` then had its letters
inserted before the backspaces ran (``256`` became ``25645``, not ``2566``): the config editor silently
corrupted the text it applies. Here the widget's own bindings run in its key handler, at the key's turn.
"""

from __future__ import annotations

from textual import events
from textual.widgets import TextArea


class OrderedTextArea(TextArea):
    async def _on_key(self, event: events.Key) -> None:
        for binding in self._bindings.key_to_bindings.get(event.key, ()):
            if binding.priority:  # the app ran those before the key reached the widget
                continue
            if await self.app.run_action(binding.action, self):
                event.stop()
                event.prevent_default()
                self._restart_blink()
                return
        await super()._on_key(event)
