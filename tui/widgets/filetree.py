"""A directory tree whose cursor starts on its first entry: Enter picks it at once (with no cursor, the first
↓ only showed one)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from textual.widgets import DirectoryTree
from textual.widgets.directory_tree import DirEntry
from textual.widgets.tree import TreeNode


class FileTree(DirectoryTree):
    """``DirectoryTree`` with the cursor on the first entry under the root whenever the root is (re)filled and
    the cursor is not already below it (the user's place inside a folder is kept)."""

    def _populate_node(self, node: TreeNode[DirEntry], content: Iterable[Path]) -> None:
        super()._populate_node(node, content)
        if node is self.root:
            self._first_entry()

    async def watch_path(self) -> None:
        """A new folder: Textual puts the cursor back on the root line after loading it."""
        await super().watch_path()
        self._first_entry()

    def _first_entry(self) -> None:
        if self.root.children and self.cursor_line <= 0:
            self.move_cursor_to_line(1 if self.show_root else 0)  # the lines are rebuilt for it

    @staticmethod
    def named(node: TreeNode[DirEntry]) -> Path:
        """``node``'s path with its folder named as the tree names it: Textual resolves the paths of a folder's
        entries, so an entry of a symlinked folder was another path than the same file typed or given (two
        history rows for one image)."""
        assert node.data is not None
        path = Path(node.data.path)
        parent = node.parent
        if parent is not None and parent.data is not None:
            return Path(parent.data.path) / path.name
        return path
