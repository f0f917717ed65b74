"""core/rotations.py: the rotation maths of observations and of bake, against rotations built by hand."""

import math

import numpy as np
import pytest

from academy_pure.core import rotations as R

ORDERS = ("XYZ", "XZY", "YXZ", "YZX", "ZXY", "ZYX")


def axis_rotation(axis: int, angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    m = np.eye(3)
    m[i, i], m[i, j], m[j, i], m[j, j] = c, -s, s, c
    return m


def euler_matrix(angles, order: str = "XYZ") -> np.ndarray:
    """Blender's Euler rotation: the axes applied in ``order`` (XYZ: X first, so Rz @ Ry @ Rx)."""
    m = np.eye(3)
    for letter in order:
        axis = "XYZ".index(letter)
        m = axis_rotation(axis, angles[axis]) @ m
    return m


def random_angles(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1.4, 1.4, size=(n, 3))  # away from gimbal lock


def test_rotation_part_divides_out_scale():
    mats = np.tile(np.eye(4), (2, 1, 1))
    rot = euler_matrix((0.3, -0.2, 1.0))
    mats[0, :3, :3] = rot * np.array([2.0, 0.5, 3.0])  # column scales
    mats[1, :3, :3] = 0.0  # a zero-scale object: no division by zero
    out = R.rotation_part(mats)
    np.testing.assert_allclose(out[0], rot, atol=1e-12)
    assert np.isfinite(out[1]).all()


def test_euler_xyz_inverts_blenders_xyz_rotation():
    angles = random_angles(50)
    mats = np.stack([euler_matrix(a) for a in angles])
    np.testing.assert_allclose(R.euler_xyz(mats), angles, atol=1e-12)


def test_quaternion_wxyz_is_unit_with_w_not_negative_and_matches_an_axis_rotation():
    angle = 2.5
    q = R.quaternion_wxyz(axis_rotation(2, angle)[None])[0]
    np.testing.assert_allclose(q, [math.cos(angle / 2), 0.0, 0.0, math.sin(angle / 2)], atol=1e-12)
    qs = R.quaternion_wxyz(np.stack([euler_matrix(a) for a in random_angles(50, seed=1) * 2]))
    np.testing.assert_allclose(np.linalg.norm(qs, axis=1), 1.0, atol=1e-12)
    assert (qs[:, 0] >= 0).all()


def test_rotation_vector_is_axis_times_angle():
    axis = np.array([1.0, 2.0, -2.0]) / 3.0
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    for angle in (0.0, 1e-9, 0.4, 2.0):
        r = np.eye(3) + math.sin(angle) * k + (1 - math.cos(angle)) * k @ k  # Rodrigues
        np.testing.assert_allclose(R.rotation_vector(r[None])[0], axis * angle, atol=1e-7)


@pytest.mark.parametrize("order", ORDERS)
def test_euler_continuous_rebuilds_the_rotation_in_every_order(order):
    angles = random_angles(40, seed=2)
    mats = np.stack([euler_matrix(a, order) for a in angles])
    out = R.euler_continuous(mats, order, angles[0])
    rebuilt = np.stack([euler_matrix(a, order) for a in out])
    np.testing.assert_allclose(rebuilt, mats, atol=1e-12)
    np.testing.assert_allclose(out, angles, atol=1e-12)  # away from gimbal lock: the same angles


def test_euler_continuous_never_jumps_by_a_turn():
    spin = np.linspace(0.0, 4 * math.pi, 97)  # two turns about Z
    mats = np.stack([axis_rotation(2, a) for a in spin])
    out = R.euler_continuous(mats, "XYZ", (0.0, 0.0, 0.0))
    np.testing.assert_allclose(out[:, 2], spin, atol=1e-9)
    shifted = R.euler_continuous(mats, "XYZ", (0.0, 0.0, 2 * math.pi))  # continuous from the rest value
    np.testing.assert_allclose(shifted[:, 2], spin + 2 * math.pi, atol=1e-9)


def test_euler_continuous_agrees_with_the_observations_xyz_angles():
    mats = np.stack([euler_matrix(a) for a in random_angles(30, seed=3)])
    np.testing.assert_allclose(R.euler_continuous(mats, "XYZ", R.euler_xyz(mats[:1])[0]), R.euler_xyz(mats), atol=1e-12)


def test_quaternion_continuous_is_the_same_rotation_without_sign_flips():
    spin = np.linspace(0.0, 4 * math.pi, 61)
    tilt = euler_matrix((0.3, 0.2, 0.0))
    mats = np.stack([axis_rotation(2, a) @ tilt for a in spin])
    q = R.quaternion_continuous(mats, (1.0, 0.0, 0.0, 0.0))
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-12)
    assert (np.einsum("ij,ij->i", q[1:], q[:-1]) > 0).all()  # neighbours never on opposite hemispheres
    same = R.quaternion_wxyz(mats)  # w ≥ 0: equal up to sign
    np.testing.assert_allclose(np.abs(np.einsum("ij,ij->i", q, same)), 1.0, atol=1e-12)
    flipped = R.quaternion_continuous(mats, (-1.0, 0.0, 0.0, 0.0))  # starts near the rest value's sign
    np.testing.assert_allclose(flipped, -q, atol=1e-12)


def test_quaternion_continuous_covers_every_branch_of_the_formula():
    # trace largest, then x, y and z largest on the diagonal (half turns about each axis)
    mats = np.stack([np.eye(3), axis_rotation(0, 3.0), axis_rotation(1, 3.0), axis_rotation(2, 3.0)])
    q = R.quaternion_continuous(mats, (1.0, 0.0, 0.0, 0.0))
    expected = [[1, 0, 0, 0], [math.cos(1.5), math.sin(1.5), 0, 0], [math.cos(1.5), 0, math.sin(1.5), 0]]
    expected.append([math.cos(1.5), 0, 0, math.sin(1.5)])
    np.testing.assert_allclose(np.abs(np.einsum("ij,ij->i", q, np.array(expected))), 1.0, atol=1e-12)
