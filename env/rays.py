"""Ray perception on the evaluated scene: the per-decision ray casts of a ray sensor.

:mod:`.compiler` checks the sensor's settings and builds the ray directions once; the closure
here casts every agent's rays each decision (``scene.ray_cast``, so it needs bpy and mathutils).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..core.rotations import rotation_part


def ray_sensor(
    a: np.ndarray, owners: Sequence, local_dirs: np.ndarray, offset: float, length: float, tags: Sequence[str]
) -> Callable[..., np.ndarray]:
    """The evaluator ``f(ctx) -> (N, rays * (len(tags) + 2))`` of one ray sensor on N agents.

    ``a`` are the agents' columns in ``ctx.mats`` and ``owners`` the agent objects (a ray passes
    through its own agent); ``local_dirs`` (rays, 3) are the ray directions in the agent's frame,
    cast from its origin plus ``offset`` along its local Z. Per ray: one value per tag (1 if the
    first hit carries it), 1 if nothing was hit, then the hit distance / ``length`` (1 for no hit).
    """
    n, rays = len(owners), len(local_dirs)
    per_ray = len(tags) + 2
    tag_index = {t: i for i, t in enumerate(tags)}

    def rays_fn(ctx):
        from mathutils import Vector

        out = np.zeros((n, rays * per_ray))
        mats = ctx.mats[a]
        rot = rotation_part(mats)
        origins = mats[:, :3, 3] + offset * rot[:, :, 2]
        dirs = np.einsum("nij,rj->nri", rot, local_dirs)
        scene, depsgraph = ctx.scene, ctx.depsgraph
        for i in range(n):
            owner = owners[i]
            for r in range(rays):
                origin = Vector(origins[i])
                direction = Vector(dirs[i, r])
                travelled = 0.0
                base_col = r * per_ray
                while True:  # skip hits on the agent itself (rays start inside it)
                    hit, loc, _normal, _index, obj, _m = scene.ray_cast(
                        depsgraph, origin, direction, distance=length - travelled
                    )
                    if not hit:
                        out[i, base_col + len(tags)] = 1.0
                        out[i, base_col + len(tags) + 1] = 1.0
                        break
                    step = (loc - origin).length
                    if obj.original == owner:
                        travelled += step + 1e-4
                        origin = loc + direction * 1e-4
                        if travelled >= length:
                            out[i, base_col + len(tags)] = 1.0
                            out[i, base_col + len(tags) + 1] = 1.0
                            break
                        continue
                    tag = obj.get("academy_tag")
                    if tag in tag_index:
                        out[i, base_col + tag_index[tag]] = 1.0
                    out[i, base_col + len(tags) + 1] = (travelled + step) / length
                    break
        return out

    return rays_fn
