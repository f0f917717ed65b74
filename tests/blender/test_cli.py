"""The command line: ./academy and the function Blender's ``-c agent_academy`` calls."""

import subprocess

import pytest

from devtools import boot

pytestmark = pytest.mark.lts
ACADEMY_SCRIPT = boot.ROOT / "academy"


def test_help_lists_the_subcommands(academy, capsys):
    assert academy.cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "usage: academy" in out
    for name in academy.cli.COMMANDS:
        assert name in out


@pytest.mark.parametrize("argv", [["nonsense"], ["info", "--bogus"], []])
def test_bad_input_is_one_line_and_non_zero(academy, capsys, argv):
    assert academy.cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    if argv:
        assert len(err.splitlines()) == 1 and err.startswith("academy: error:")


def test_info_through_the_blender_entry(academy, capsys):
    import bpy

    assert academy.cli.blender_cli(["info"]) == 0
    out = capsys.readouterr().out
    assert f"Blender {bpy.app.version_string}" in out
    assert "Agent Academy 0.1.0" in out


def test_the_academy_script_end_to_end():
    ok = subprocess.run([str(ACADEMY_SCRIPT), "--help"], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and "info" in ok.stdout
    bad = subprocess.run([str(ACADEMY_SCRIPT), "nonsense"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        "academy: error: argument COMMAND: invalid choice: 'nonsense' (choose from "
        + ", ".join(f"'{n}'" for n in sorted_commands())
        + ") (see 'academy --help')"
    ]


def sorted_commands():
    import sys

    return list(sys.modules[boot.MODULE].cli.COMMANDS)


def test_the_projects_own_errors_are_one_line_naming_what_is_at_fault(academy, capsys, tmp_path, monkeypatch):
    """An undefined Reset Parameter is marked on its node and ``train`` says which tree and node, in one line."""
    import bpy

    scene = academy.examples.balance_ball.build(bpy.context.scene)
    tree = bpy.data.node_groups["Balance Ball"]
    node = tree.nodes.new("AcademyResetParameterNode")
    node.name, node.parameter = "Wind", "wind"
    observe = next(n for n in tree.nodes if n.bl_idname == "AcademyObserveNode")
    tree.links.new(node.outputs[0], observe.inputs[0])
    why = "reads reset parameter 'wind', which the Academy does not define"
    assert [(n, m.split(" (")[0]) for n, m in academy.nodes.validate(tree, scene)] == [("Wind", why)]
    path = tmp_path / "wind.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(path))
    assert academy.cli.main(["train", str(path), "--steps", "50", "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("academy train: error: ") and f"tree 'Balance Ball': node 'Wind': {why}" in err

    # any error of the project's that a subcommand does not catch itself, the same way
    def broken(*_args, **_kwargs):
        raise academy.env.brain_store.StoreError("Brain 'Ball Brain': the model read back 5 of 139,884 bytes")

    monkeypatch.setattr(academy.drivers.headless, "train", broken)
    code = academy.cli.main(["train", str(path), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert code == 1 and err == "academy train: error: Brain 'Ball Brain': the model read back 5 of 139,884 bytes"


def test_train_prints_the_trees_warnings_first(academy, capsys, tmp_path):
    import bpy

    academy.examples.balance_ball.build(bpy.context.scene, agents=2)
    stuck = bpy.data.node_groups["Balance Ball"].nodes.new("AcademySetPropertyNode")
    stuck.name, stuck.path = "Stuck", '["speed"]'
    for obj in bpy.context.scene.objects:
        obj["speed"] = 0.0
    path = tmp_path / "stuck.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(path))
    assert academy.cli.main(["train", str(path), "--steps", "20", "--out", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    line = "academy train: warning: tree 'Balance Ball': node 'Stuck': Value is not linked"
    assert err.startswith(line), err


def test_after_changing_what_a_trained_brain_observes_fresh_is_the_way_forward(academy, capsys, tmp_path):
    import bpy

    scene = academy.examples.balance_ball.build(bpy.context.scene, agents=2)
    path = tmp_path / "ball.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(path))
    assert academy.cli.main(["train", str(path), "--steps", "20", "--out", str(tmp_path / "a")]) == 0
    trained = tmp_path / "a" / "ball-trained.blend"
    bpy.ops.wm.open_mainfile(filepath=str(trained))
    scene = bpy.context.scene
    tree = bpy.data.node_groups["Balance Ball"]
    observe = next(n for n in tree.nodes if n.bl_idname == "AcademyObserveNode")
    tree.links.new(tree.nodes.new("AcademyStepInfoNode").outputs["Step"], observe.inputs[0])  # one more value
    bpy.ops.wm.save_mainfile()
    before = academy.env.brain_store.stored_state(scene.academy.brains[0])
    capsys.readouterr()
    assert academy.cli.main(["train", str(trained), "--steps", "20", "--out", str(tmp_path / "b")]) == 1
    assert "run 'academy train --fresh'" in capsys.readouterr().err
    assert academy.cli.main(["train", str(trained), "--steps", "20", "--fresh", "--out", str(tmp_path / "c")]) == 0
    bpy.ops.wm.open_mainfile(filepath=str(trained))  # the file itself keeps its model
    assert academy.env.brain_store.stored_state(bpy.context.scene.academy.brains[0]) == before
    bpy.ops.wm.open_mainfile(filepath=str(tmp_path / "c" / "ball-trained.blend"))  # trained again: no name pile-up
    read_header = academy.training.persistence.read_header
    header = read_header(academy.env.brain_store.stored_state(bpy.context.scene.academy.brains[0]))
    assert header["obs_space"]["shape"] != read_header(before)["obs_space"]["shape"]


SCRIPT = """
import sys
import bpy
import agent_academy
from agent_academy import api

assert api is sys.modules[{package!r} + ".api"], "one module, not a second copy"
bpy.ops.wm.read_homefile(use_empty=True)
scene = bpy.context.scene
api.brain(scene, "Mover", num_steps=16)
tree = api.behaviour_tree("Move")
me = tree.node("AcademyTransformNode")
tree.link(me, "Location", tree.node("AcademyObserveNode"), "Observations")
move = tree.node("AcademySetTransformNode", mode="ADD")
tree.link(tree.node("AcademyContinuousActionNode", size=1), "Action 1", move, "Value")
tree.node("AcademyRewardNode")
for i in range(2):
    obj = bpy.data.objects.new(f"Mover{{i}}", None)
    scene.collection.objects.link(obj)
    api.agent(obj, "Mover", tree.tree)
result = api.train(scene, steps=int(sys.argv[1]))
print("trained", result["agent_steps"], "stored", len(scene.academy.brains["Mover"]["academy_state"]) > 0)
sys.exit(int(sys.argv[2]))
"""


def test_run_executes_a_script_that_builds_and_trains_a_scene_with_the_api(academy, capsys, tmp_path):
    script = tmp_path / "build.py"
    script.write_text(SCRIPT.format(package=academy.__name__))
    assert academy.cli.main(["run", str(script), "64", "0"]) == 0
    assert "trained 64 stored True" in capsys.readouterr().out
    assert academy.cli.blender_cli(["run", str(script), "32", "3"]) == 3  # blender -c agent_academy run
    assert "trained 32 stored True" in capsys.readouterr().out


def test_run_reports_a_missing_script_and_the_projects_errors_in_one_line(academy, capsys, tmp_path):
    assert academy.cli.main(["run", str(tmp_path / "nope.py")]) == 2
    assert capsys.readouterr().err.strip().endswith("no such script: " + str(tmp_path / "nope.py"))
    script = tmp_path / "typo.py"
    script.write_text("import bpy\nfrom agent_academy import api\napi.brain(bpy.context.scene, 'B', learning_rat=1)\n")
    with pytest.raises(ValueError, match="Brain 'B': PPO has no setting 'learning_rat'"):
        academy.cli.main(["run", str(script)])  # the user's own mistake: a traceback into their script
