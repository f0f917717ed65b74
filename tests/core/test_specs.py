"""Behaviour specs without Blender: building, validating, JSON, object references and the limits they check."""

import dataclasses
import math
import types

import pytest

from academy_pure.core import expressions, inputs, limits
from academy_pure.core import specs as S
from academy_pure.core.limits import FLOAT32_MAX, LIMITS, Range, SettingsError, check_range

# expressions' helpers for the other spec modules, deliberately not part of ``S``
INTERNAL = {"EXPR_TYPES", "in_range", "no_nan", "remember_hashes"}


def platform() -> S.Behaviour:
    """A valid behaviour shaped like Balance Ball's: two continuous actions tilt the agent, a ball in a slot."""
    offset = S.Location("slot:Ball") - S.Location(S.SELF)
    fell = S.Compare("LESS_THAN", offset[2], S.as_expr(-2.0))
    return S.Behaviour(
        name="Platform",
        observations=(S.Rotation(S.SELF), offset, S.Velocity("slot:Ball")),
        actions=S.ContinuousActions(2),
        writes=(S.Write(S.SELF, "rotation_euler", S.Action(0) * 0.1, index=0, mode="ADD", low=-0.5, high=0.5),),
        rewards=(S.Reward(S.Unary("NOT", fell) * 0.1, name="Balanced"),),
        ends=(S.End(fell, reward=-1.0, name="Ball fell"),),
        on_reset=(S.Write("slot:Ball", "location", S.Random(-1.5, 1.5), index=0, mode="ADD"),),
        heuristic=S.Concat((offset[1] * 0.05, offset[0] * -0.05)),
    )


# -- building and validating -------------------------------------------------------------------


def test_a_valid_behaviour_validates_and_knows_its_sizes():
    spec = platform()
    assert spec.validate() is spec
    assert spec.observation_size == 3 + 3 + 3
    assert S.action_slots(spec.actions) == 2 and S.action_slots(S.DiscreteActions((("a", "b"), ("c",)))) == 2


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(actions=None), "has no actions"),
        (dict(observations=(S.Location("ball"),)), "must be 'self', 'slot:NAME' or 'object:NAME'"),
        (dict(observations=(S.Location() + S.Const((1.0, 2.0)),)), "sizes 3 and 2 do not match"),
        (dict(observations=(S.Action(0),)), "cannot read the chosen action"),
        (dict(rewards=(S.Reward(S.Location()),)), "has size 3, must be 1"),
        (dict(heuristic=S.Const((1.0,))), "heuristic gives 1 values, the actions need 2"),
        (dict(writes=(S.Write(S.SELF, "location", S.Action(2)),)), "uses action 2 but there are only 2"),
        (dict(on_reset=(S.Write(S.SELF, "location", S.Action(0)),)), "reset write to self location cannot use"),
        (dict(observations=(S.Unary("SQUARE", S.Const()),)), "unknown math function 'SQUARE'"),
        (dict(observations=(S.Location()[3],)), "component 3 of a value of size 3"),
        (dict(actions=S.DiscreteActions(((),))), "every discrete branch needs at least one choice"),
    ],
)
def test_malformed_specs_name_the_part_at_fault(change, message):
    spec = dataclasses.replace(platform(), **change)
    with pytest.raises(S.SpecError, match=message):
        spec.validate()


def test_a_deep_python_spec_is_refused_naming_the_part():
    value = S.Const((1.0,))
    for _ in range(S.MAX_DEPTH + 5):
        value = value + 1.0
    behaviour = S.Behaviour(
        observations=(S.Location(),), actions=S.ContinuousActions(1), rewards=(S.Reward(value),), name="deep"
    )
    with pytest.raises(S.SpecError, match=f"reward.*more than {S.MAX_DEPTH} operations in a row"):
        behaviour.validate()


def test_python_operators_build_expressions():
    diff = S.Location("slot:Ball") - 1
    assert diff == S.Binary("SUBTRACT", S.Location("slot:Ball"), S.Const((1.0,)))
    assert (2 * S.Location())[0] == S.Component(S.Binary("MULTIPLY", S.Const((2.0,)), S.Location()), 0)
    assert S.as_expr((1, 2)).size == 2 and (-S.Location()).size == 3
    assert S.Location().lt(0).size == 3 and S.Distance().gt(S.Const((1.0,))).size == 1


# -- object references ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ref, parsed",
    [("self", ("self", "")), ("slot:Ball", ("slot", "Ball")), ("object:Floor:2", ("object", "Floor:2"))],
)
def test_parse_ref_splits_kind_and_name(ref, parsed):
    assert S.parse_ref(ref) == parsed
    assert S.check_ref(ref, "here") == ref


@pytest.mark.parametrize("ref", ["ball", "slot:", "object:", "Self", ""])
def test_a_bad_reference_is_refused_naming_where(ref):
    with pytest.raises(S.SpecError, match=f"^observation 2: object reference {ref!r} must be"):
        S.check_ref(ref, "observation 2")


# -- numbers: ranges and limits --------------------------------------------------------------------


RAYS, SIDE, ACTIONS, VALUES = (LIMITS[k] for k in ("rays", "image_size", "action_size", "observation_size"))


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: S.RayPerception(rays=200_000), f"^ray perception: rays is 200000; it must be 1 to {RAYS}$"),
        (lambda: S.Camera("slot:Eye", 5000, 84), f"^camera slot:Eye: width is 5000; it must be 1 to {SIDE}$"),
        (lambda: S.Camera("slot:Eye", 84, 0), f"^camera slot:Eye: height is 0; it must be 1 to {SIDE}$"),
        (
            lambda: S.ContinuousActions(ACTIONS + 1),
            f"^continuous actions: size is {ACTIONS + 1}; it must be 1 to {ACTIONS}$",
        ),
        (
            lambda: S.Property(path="location", size_=300_000_000),
            f"^property location: size is 300000000; it must be 1 to {VALUES}$",
        ),
        (lambda: S.Action(size_=0), f"^action: size is 0; it must be 1 to {ACTIONS}$"),
        (lambda: S.RayPerception(length=0.0), "^ray perception: length is 0; it must be more than 0$"),
        (lambda: S.Reward(S.Const(), weight=math.inf, name="r"), "^reward 'r': weight is inf; it must be a finite"),
        (lambda: S.End(S.Const(), reward=FLOAT32_MAX), "^end '\\?': reward is 3.40282e\\+38; it must be a finite"),
        (lambda: S.Random(2.0, 1.0), "^random: Min 2 is above Max 1$"),
        (lambda: S.ContinuousActions(2, 1.0, 1.0), "^continuous actions: Min 1 must be below Max 1$"),
        (lambda: S.Clamp(low=math.nan), "^clamp: low is NaN$"),
        (lambda: S.Property(size_=math.nan), "^property: size is NaN$"),
    ],
)
def test_a_number_out_of_range_names_the_part_the_setting_and_what_is_allowed(build, message):
    with pytest.raises(S.SpecError, match=message):
        build()


def test_the_size_limits_hold_at_the_limit_and_refuse_one_more():
    S.RayPerception(rays=LIMITS["rays"], tags=("a",) * LIMITS["rays"])
    with pytest.raises(S.SpecError, match=f"{LIMITS['rays'] + 1} tags; the limit is {LIMITS['rays']}"):
        S.RayPerception(tags=("a",) * (LIMITS["rays"] + 1))
    S.DiscreteActions((("x",) * LIMITS["action_size"],))
    n = LIMITS["action_size"] + 1
    with pytest.raises(S.SpecError, match=f"^discrete actions: {n} branches of up to 1 choices; the limit is {n - 1}"):
        S.DiscreteActions((("x",),) * n)
    wide = S.Property(path="location", size_=LIMITS["observation_size"])
    spec = dataclasses.replace(platform(), observations=(wide,))
    spec.validate()
    over = dataclasses.replace(platform(), observations=(wide, S.Distance()))
    with pytest.raises(S.SpecError, match=f"observes {LIMITS['observation_size'] + 1:,} numbers, more than the limit"):
        over.validate()


def test_check_range_names_the_setting_its_value_and_the_range():
    check_range("PPO Gamma", 1.0, Range(0.0, 1.0))
    with pytest.raises(SettingsError, match="^PPO Gamma is 1.5; it must be 0 to 1$"):
        check_range("PPO Gamma", 1.5, Range(0.0, 1.0))
    with pytest.raises(SettingsError, match="^Learning Rate is 0; it must be more than 0 and at most 1$"):
        check_range("Learning Rate", 0.0, Range(0.0, 1.0, low_open=True))
    with pytest.raises(SettingsError, match="^Steps is True; it must be at least 1$"):  # a bool is no number
        check_range("Steps", True, Range(1, 2**31 - 1))
    with pytest.raises(SettingsError, match="^Steps is '3'; it must be"):
        check_range("Steps", "3", Range(1, 10))
    assert issubclass(S.SpecError, ValueError) and issubclass(SettingsError, ValueError)


def test_a_range_never_holds_nan_infinity_or_blenders_stand_in_for_infinity():
    """Blender stores an infinity typed into a float field as float32's largest number: refused like inf."""
    anything = Range(-math.inf, math.inf)
    assert anything.contains(1e30) and anything.contains(-1e30) and anything.describe() == "a finite number"
    for value in (math.nan, math.inf, -math.inf, FLOAT32_MAX, -FLOAT32_MAX):
        assert not anything.contains(value)


# -- JSON and the module split -----------------------------------------------------------------


def one_of_each() -> S.Behaviour:
    """A behaviour that uses every expression type there is, a camera and infinite write bounds."""
    me = S.Location()
    leaves = (S.Rotation(mode="QUATERNION"), S.Velocity(angular=True), S.Property(path='["hp"]'), S.Distance(),
              S.Direction(local=True), S.RayPerception(tags=("wall",)), S.StepInfo("PROGRESS"), S.ResetParam("size"),
              S.Random(size_=2, stream=3), S.Team("SIZE"), S.Location("agent:OTHER_TEAM"))  # fmt: skip
    maths = (S.Clamp(me), S.MapRange(me, 0.0, 2.0, -1.0, 1.0), S.Switch(S.Const(), me, me * 2), me[1], -me,
             S.Select(S.Const((1.0,)), (me, me)), S.VectorMath("DOT", me, me),
             S.Compare("EQUAL", me, me, 0.1), S.Changed(me))  # fmt: skip
    return S.Behaviour(
        name="all",
        observations=(S.Concat((*leaves, *maths)),),
        actions=S.DiscreteActions((("left", "right"), ("jump",))),
        writes=(S.Write(S.SELF, "location", S.Action(1), index=2),),
        cameras=(S.Camera("slot:Eye", 32, 24, grayscale=True),),
        group_rewards=(S.GroupReward(S.Team(), 0.5, "MEAN", "team"),),
    )


def test_every_expression_type_round_trips_through_json():
    spec = one_of_each().validate()
    used = {type(e) for obs in spec.observations + tuple(w.value for w in spec.writes) for e in S.walk(obs)}
    assert used == set(expressions.EXPR_TYPES.values())
    again = S.Behaviour.from_json(spec.to_json())
    assert again == spec and again.to_json() == spec.to_json()
    assert again.writes[0].low == -math.inf and again.writes[0].high == math.inf


@pytest.mark.parametrize(
    "text, message",
    [("{", "not valid JSON"), ('{"observations": [{"op": "nope"}]}', "observation: not an expression"),
     ('{"rewards": [{"weight": 1}]}', "malformed \\(KeyError")],
)  # fmt: skip
def test_a_broken_json_spec_is_refused_in_words(text, message):
    with pytest.raises(S.SpecError, match=message):
        S.Behaviour.from_json(text)


def test_every_expression_type_remembers_its_hash():
    """Shared sub-expressions make 2**n paths: each object's hash is computed once, in every module."""
    types_ = set(expressions.EXPR_TYPES.values())
    assert {S.Location, S.RayPerception, S.Action, S.Binary, S.Concat} <= types_
    for cls in types_:
        expr = cls()
        hash(expr)
        assert "_hash" in expr.__dict__, cls.__name__


def test_specs_reexports_every_public_name_of_the_expression_and_input_modules():
    for module in (expressions, inputs):
        own = {
            name
            for name, value in vars(module).items()
            if not name.startswith("_")
            and not isinstance(value, types.ModuleType)
            and name not in vars(limits)
            and getattr(value, "__module__", module.__name__) == module.__name__
        }
        assert own - INTERNAL <= set(S.__all__), module.__name__
        assert all(getattr(S, name) is getattr(module, name) for name in own - INTERNAL)
    assert S.Camera is inputs.Camera and S.LIMITS is LIMITS


def test_hybrid_actions_index_continuous_slots_then_branches_and_round_trip():
    """Hybrid actions: Action slots are the continuous values, then the branches; masks name the
    discrete part's branches; the JSON keeps both parts."""
    hybrid = S.HybridActions(S.ContinuousActions(2, -2.0, 3.0), S.DiscreteActions((("A", "B", "C"), ("No", "Yes"))))
    assert S.action_slots(hybrid) == 4
    assert S.discrete_part(hybrid) is hybrid.discrete and S.continuous_part(hybrid) is hybrid.continuous
    assert S.discrete_part(hybrid.continuous) is None and S.continuous_part(hybrid.discrete) is None
    b = dataclasses.replace(
        platform(),
        actions=hybrid,
        writes=(
            S.Write(S.SELF, "rotation_euler", S.Action(0) * 0.1, index=0, mode="ADD"),
            S.Write(S.SELF, "location", S.Action(3), index=2),  # branch 1's choice
        ),
        heuristic=S.Concat((S.as_expr(0.0), S.as_expr(0.0), S.as_expr(2.0), S.as_expr(1.0))),
        masks=(S.Mask(1, 1, S.as_expr(1.0), "Jump allowed"),),
    ).validate()
    assert S.Behaviour.from_json(b.to_json()) == b
    with pytest.raises(S.SpecError, match="uses action 4 but there are only 4"):
        dataclasses.replace(b, writes=(S.Write(S.SELF, "location", S.Action(4), index=2),)).validate()
    with pytest.raises(S.SpecError, match="branch 2 does not exist \\(there are 2\\)"):
        dataclasses.replace(b, masks=(S.Mask(2, 0, S.as_expr(1.0), "M"),)).validate()
    with pytest.raises(S.SpecError, match="heuristic gives 2 values, the actions need 4"):
        dataclasses.replace(b, heuristic=S.Concat((S.as_expr(0.0), S.as_expr(0.0)))).validate()
    with pytest.raises(S.SpecError, match="need one ContinuousActions and one DiscreteActions"):
        S.HybridActions(hybrid.discrete, hybrid.continuous)
