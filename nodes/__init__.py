"""The behaviour node tree: editor type, sockets, nodes, and the compiler into env specs."""

from .tree import AcademyNodeTree

CLASSES = (AcademyNodeTree,)
