"""Pure code below the runtime: no ``bpy``, ``mathutils`` or other Blender module is imported here.

Everything in ``core/`` runs (and is tested, ``tests/core``) in a plain Python with numpy:

- ``limits``: size limits, the ranges numeric settings may take and the error naming what is out;
- ``expressions``, ``inputs``, ``specs``: the behaviour specs (expressions and their math, the
  leaves that read the scene and cameras, then actions, writes, rewards, ends and ``Behaviour``,
  its validation and JSON; ``specs`` re-exports the other two);
- ``mathops``: the math functions of expressions over numpy arrays;
- ``rotations``, ``simplify``: rotation maths and keyframe simplification for baking;
- ``names``, ``checks``, ``stats``: the names stored in the .blend, one-line error text, per-Brain
  statistics;
- ``files``, ``tensorboard``, ``plot``: atomic file writes, TensorBoard event files,
  learning-curve pictures.

Modules here import only each other (``from .x import y``), never the rest of the add-on; ``core/``
is the lowest layer (``training/`` may import it, it imports nothing above it).
"""
