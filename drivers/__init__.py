"""Drivers: what runs a Session to the end from a script or a terminal, outside Blender's UI.

``headless`` trains and evaluates a scene (the command line, the demo); ``gym`` wraps one as a
gymnasium / PettingZoo / Stable-Baselines3 environment; ``workers`` trains one scene with worker
processes (``worker``: what runs inside each). Nothing here registers with Blender.
"""
