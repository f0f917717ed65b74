"""Pure code below the runtime: no ``bpy``, ``mathutils`` or other Blender module is imported here.

Everything in ``core/`` runs (and is tested, ``tests/core``) in a plain Python with numpy: rotation
maths, keyframe simplification, the names stored in the .blend, one-line error text, per-Brain
statistics, atomic file writes, TensorBoard event files and learning-curve pictures. Modules here import only each other
(``from .x import y``), never the rest of the add-on.
"""
