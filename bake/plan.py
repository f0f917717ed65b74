"""Decide what a recorded rollout keys: which objects moved by themselves (keyed, their world
matrices decomposed into their own channels) and which only follow others (no keys).
"""

from __future__ import annotations

import numpy as np

from .. import compat
from ..core.rotations import euler_continuous, quaternion_continuous
from .record import TRANSFORM_PATHS, _accessor_path, _Channel, _dynamic_rigid_body, _own_transform_animation, _Recording
from .result import BakeResult

MOVED_EPS = 1e-5  # world-matrix change (units) that counts as moved; float32 matrices are ~1e-7 relative


def _rotation_matrix(mode: str, euler=None, quaternion=None) -> np.ndarray:
    from mathutils import Euler, Quaternion

    if mode == "QUATERNION":
        return np.array(Quaternion(quaternion).normalized().to_matrix())
    if mode == "AXIS_ANGLE":
        return np.eye(3)
    return np.array(Euler(euler, mode).to_matrix())


def decompose(basis: np.ndarray, obj) -> dict[str, np.ndarray]:
    """Split basis matrices (F, 4, 4) into ``obj``'s own channels: location, rotation (in its
    ``rotation_mode``, continuous from its current rotation) and scale, net of its delta transforms.

    Returns {data path: (F, components)}.
    """
    basis = np.asarray(basis, dtype=np.float64)
    m3 = basis[:, :3, :3]
    scale = np.linalg.norm(m3, axis=1)  # column lengths
    negative = np.linalg.det(m3) < 0
    scale[negative] *= -1.0
    safe = np.where(np.abs(scale) < 1e-12, 1.0, scale)
    rot = m3 / safe[:, None, :]
    mode = obj.rotation_mode
    drot = _rotation_matrix(mode, obj.delta_rotation_euler, obj.delta_rotation_quaternion)
    if not np.allclose(drot, np.eye(3)):
        rot = np.einsum("ji,fjk->fik", drot, rot)  # basis rotation = delta @ rotation
    dscale = np.asarray(obj.delta_scale, dtype=np.float64)
    out = {
        "location": basis[:, :3, 3] - np.asarray(obj.delta_location, dtype=np.float64),
        "scale": scale / np.where(np.abs(dscale) < 1e-12, 1.0, dscale),
    }
    if mode == "QUATERNION":
        out["rotation_quaternion"] = quaternion_continuous(rot, obj.rotation_quaternion)
    elif mode == "AXIS_ANGLE":
        angle0, *axis0 = obj.rotation_axis_angle
        from mathutils import Quaternion

        q = quaternion_continuous(rot, Quaternion(axis0, angle0))
        q[q[:, 0] < 0] *= -1.0  # angle in [0, 2π)
        half = np.arctan2(np.linalg.norm(q[:, 1:], axis=1), q[:, 0])
        norm = np.linalg.norm(q[:, 1:], axis=1, keepdims=True)
        axis = np.where(norm > 1e-12, q[:, 1:] / np.where(norm > 1e-12, norm, 1.0), np.array([0.0, 1.0, 0.0]))
        out["rotation_axis_angle"] = np.concatenate([2 * half[:, None], axis], axis=1)
    else:
        out["rotation_euler"] = euler_continuous(rot, mode, obj.rotation_euler)
    return out


def _plan(scene, rec: _Recording, only: set[str] | None, take_action_set, result: BakeResult):
    """Transform and property channels to key, rigid bodies to switch to kinematic, followers."""
    index = {name: i for i, name in enumerate(rec.names)}
    diff = np.abs(rec.world - rec.reference[None]).max(axis=(0, 2, 3))
    moved = [name for name in rec.names if diff[index[name]] > MOVED_EPS and (only is None or name in only)]
    channels: list[_Channel] = []
    keyed_objects: list = []
    kinematic: list = []
    for name in moved:
        obj = scene.objects[name]
        world = rec.world[:, index[name]]
        rigid = _dynamic_rigid_body(scene, obj)
        if not rigid and name in rec.basis:  # constraints or bone/vertex parents: their own basis
            basis = rec.basis[name]
            static = np.array(obj.matrix_basis)
            if np.abs(basis - static[None]).max() <= MOVED_EPS:
                result.followers.append(name)
                continue
        elif not rigid and name not in rec.direct and _own_transform_animation(obj, take_action_set):
            result.followers.append(name)
            continue
        else:
            parent = obj.parent
            if parent is not None and parent.name in index:
                pw = rec.world[:, index[parent.name]] @ np.array(obj.matrix_parent_inverse)[None]
                basis = np.linalg.solve(pw, world)
            elif parent is not None:
                pw = np.array(parent.matrix_world) @ np.array(obj.matrix_parent_inverse)
                basis = np.linalg.solve(pw[None], world)
            else:
                basis = world
            static = np.array(obj.matrix_basis)
            if not rigid and np.abs(basis - static[None]).max() <= MOVED_EPS:
                result.followers.append(name)
                continue
        for path, values in decompose(basis, obj).items():
            channels.append(_Channel(obj, path, values, group="Object Transforms", label=f"{name}: {path}"))
        keyed_objects.append(obj)
        if obj.rigid_body is not None and rigid:
            kinematic.append(obj)
        for fc in compat.animated_fcurves(obj):
            if fc.data_path in TRANSFORM_PATHS and not fc.mute:
                result.warnings.append(
                    f"'{name}': its active Action '{obj.animation_data.action.name}' animates {fc.data_path}, "
                    "which plays over the take; push it down into the NLA (or clear those channels) to see the take"
                )
                break
    keyed_names = {o.name for o in keyed_objects}
    by_target: dict[tuple, list] = {}
    for acc, values in zip(rec.accessors, rec.values, strict=True):
        owner = acc.owner
        if owner == owner.id_data and owner.id_data.id_type == "OBJECT" and acc.attr in TRANSFORM_PATHS:
            continue  # transforms are keyed from the world matrix (or reproduced by what they follow)
        target = _accessor_path(acc)
        if target is None:
            result.warnings.append(f"cannot key {acc.attr} on '{owner.id_data.name}': no data path to it")
            continue
        id_data, path = target
        if only is not None and id_data.id_type == "OBJECT" and id_data.name not in only:
            continue
        try:
            static = np.array(acc.get())
        except ReferenceError:
            continue
        if np.abs(values - static[None]).max() == 0.0:
            continue  # never changed
        by_target.setdefault((id_data.id_type, id_data.name, path), []).append((acc, values, id_data))
    for (_t, id_name, path), entries in by_target.items():
        acc, values, id_data = entries[0]
        if acc.index >= 0:  # components written one by one: one channel per component
            for acc_i, values_i, _ in entries:
                channels.append(
                    _Channel(
                        id_data,
                        path,
                        values_i,
                        constant=acc_i.cast is not float,
                        label=f"{id_name}: {path}[{acc_i.index}]",
                        index=acc_i.index,
                    )
                )
        else:
            channels.append(_Channel(id_data, path, values, constant=acc.cast is not float, label=f"{id_name}: {path}"))
    result.objects = sorted(keyed_names)
    return channels, kinematic
