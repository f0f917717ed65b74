"""Validation in the editor and the behaviour source the Academy asks.

``compiled(tree)`` compiles a tree once per revision (cached). ``check_agent`` adds what only the
scene knows: data paths that must resolve on the agents that use the tree, the Brain's trained
observation shape, and other trees that feed the same Brain. Each problem is shown on the node at
fault (red header, message on the node and in the sidebar) and blocks training with a
``SpecError`` naming the node.
"""

from __future__ import annotations

import bpy

from ..core import specs as S
from ..env.paths import PathError, check_writable, resolve
from .base import ERRORS, NOTES, TREE, WARNINGS, NodeError
from .compile import Compiled, compile_tree

MARKING = False  # True while validation colours nodes: the tree's update() must not count it as an edit
ERROR_COLOUR = (0.62, 0.12, 0.12)
_MARK_PROP = "_academy_marked"  # remembers the node's own custom colour setting while marked

# tree name -> (session uid, {tree name: revision}, Compiled | NodeError)
_cache: dict[str, tuple] = {}
_validated: dict[str, int] = {}  # tree name -> revision last validated in the editor
_headers: dict[tuple, dict] = {}  # a Brain's stored model header, read once (not once per agent)


def _uid(tree) -> int:
    return getattr(tree, "session_uid", 0)


def compiled(tree) -> Compiled:
    """The compiled tree, from the cache while neither it nor its groups changed; raises NodeError."""
    entry = _cache.get(tree.name)
    if entry is not None and entry[0] == _uid(tree):
        revisions = entry[1]
        fresh = all(
            (t := bpy.data.node_groups.get(name)) is not None and t.revision == rev for name, rev in revisions.items()
        )
        if fresh:
            if isinstance(entry[2], NodeError):
                raise entry[2]
            return entry[2]
    try:
        result = compile_tree(tree)
        revisions = result.trees
    except NodeError as exc:
        exc.tree = exc.tree or tree.name
        result = exc
        revisions = {tree.name: tree.revision}
        # a group's edit must also invalidate the error: record every group tree reachable
        for node in tree.nodes:
            inner = getattr(node, "node_tree", None)
            if inner is not None and getattr(inner, "bl_idname", "") == TREE:
                revisions[inner.name] = inner.revision
    _cache[tree.name] = (_uid(tree), revisions, result)
    if isinstance(result, NodeError):
        raise result
    return result


def clear_cache() -> None:
    _cache.clear()
    _validated.clear()


def revision(tree) -> tuple[int, ...]:
    """A value that changes whenever ``tree`` or a group inside it is edited (for a running Academy)."""
    revs = [tree.revision]
    seen = {tree.name}
    stack = [tree]
    while stack:
        t = stack.pop()
        for node in t.nodes:
            inner = getattr(node, "node_tree", None)
            if inner is not None and getattr(inner, "bl_idname", "") == TREE and inner.name not in seen:
                seen.add(inner.name)
                revs.append(inner.revision)
                stack.append(inner)
    return tuple(revs)


# -- checks against the scene ---------------------------------------------------------------------


def _scene_of(obj):
    scenes = getattr(obj, "users_scene", ())
    return scenes[0] if scenes else bpy.context.scene


def _resolve_ref(obj, ref: str, scene):
    kind, name = S.parse_ref(ref)
    if kind == "self":
        return obj
    if kind == "slot":
        for slot in obj.academy_agent.objects:
            if slot.name == name:
                return slot.object
        return None
    return scene.objects.get(name) if scene is not None else None


def other_agents(obj, ref: str, scene) -> list:
    """The enabled agents of ``scene`` an Other Agent reference (``agent:MODE``) may pick for agent ``obj``."""
    mode = S.parse_ref(ref)[1]
    team = obj.academy_agent.team
    out = []
    for other in sorted(scene.objects, key=lambda o: o.name) if scene is not None else ():
        agent = getattr(other, "academy_agent", None)
        if agent is None or not agent.enabled or other == obj:
            continue
        if (mode == "OTHER_TEAM" and agent.team == team) or (mode == "SAME_TEAM" and agent.team != team):
            continue
        out.append(other)
    return out


def agent_errors(tree, c: Compiled, obj, scene) -> list[tuple[str, str]]:
    """Problems of ``tree`` on agent ``obj``: (node path, message)."""
    errors = []
    for node, ref in c.other_agent_nodes:
        if scene is not None and not other_agents(obj, ref, scene):
            what = {"agent:OTHER_TEAM": " on another team", "agent:SAME_TEAM": " on its team"}.get(ref, "")
            errors.append((node, f"agent '{obj.name}' (team {obj.academy_agent.team}) has no other enabled agent"
                                 f"{what} to pick (Object Properties → Agent → Team)"))  # fmt: skip
    for node, ref in c.object_nodes:
        if _resolve_ref(obj, ref, scene) is None:
            kind, name = S.parse_ref(ref)
            if kind == "slot":
                message = f"agent '{obj.name}' links no Agent Object '{name}' (Object Properties → Agent)"
            else:
                message = f"object '{name}' is not in the scene"
            errors.append((node, message))
    defined = {p.name for p in scene.academy.reset_parameters} if scene is not None else None
    for node, name in c.reset_param_nodes:
        if defined is not None and name not in defined:
            errors.append((node, f"reads reset parameter '{name}', which the Academy does not define "
                                 "(Scene Properties → Academy → Reset Parameters)"))  # fmt: skip
    if errors:
        return errors
    for node, ref, path, index, size, is_write in c.property_nodes:
        if S.is_dynamic_ref(ref):  # every agent it may pick is checked when Train or Play starts
            continue
        target = _resolve_ref(obj, ref, scene)
        if target is None:
            kind, name = S.parse_ref(ref)
            what = f"Agent Object '{name}'" if kind == "slot" else f"object '{name}'"
            errors.append((node, f"agent '{obj.name}' has no {what}"))
            continue
        try:
            acc = resolve(target, path, index)
            if is_write:
                check_writable(acc, path, target)
        except PathError as exc:
            errors.append((node, f"on agent '{obj.name}': {exc}"))
            continue
        if is_write and size not in (1, acc.size):
            errors.append((node, f"writes {size} values to '{path}', which has {acc.size}"))
        elif not is_write and size != acc.size:
            errors.append((node, f"'{path}' on '{target.name}' has {acc.size} values; set Size to {acc.size}"))
    behaviour = c.behaviour
    brain = scene.academy.brains.get(obj.academy_agent.brain) if scene is not None else None
    observe = c.observe_nodes[0] if c.observe_nodes else tree.name
    if brain is not None:
        from ..env.brain_store import stored_state

        data = stored_state(brain)  # bytes, whatever a crafted file holds there
        if data:
            try:
                from ..env.brain_store import FRESH_HINT
                from ..env.brains import observation_space
                from ..training.persistence import read_header
                from ..training.spaces import space_from_dict

                key = (len(data), data[:64], data[-64:])
                if key not in _headers:
                    if len(_headers) > 16:
                        _headers.clear()
                    _headers[key] = read_header(data)
                trained = _headers[key]["obs_space"]
                ours = observation_space(behaviour.observation_size, behaviour.cameras).to_dict()
                if trained != ours:
                    errors.append(
                        (observe, f"observes {_describe(ours)} but Brain '{brain.name}' was trained on "
                         f"{_describe(trained, space_from_dict)}: {FRESH_HINT}")
                    )  # fmt: skip
            except Exception as exc:  # an unreadable stored model is the Brain's problem, reported there
                print(f"Agent Academy: could not read Brain '{brain.name}' header: {exc}")
        shape = (behaviour.observation_size, behaviour.cameras, behaviour.actions)
        for other in scene.objects:
            agent = getattr(other, "academy_agent", None)
            if agent is None or not agent.enabled or agent.brain != brain.name or other == obj:
                continue
            other_tree = agent.behaviour_tree
            if other_tree is None or other_tree == tree:
                continue
            try:
                oc = compiled(other_tree)
            except NodeError:
                continue  # reported on that tree
            ob = oc.behaviour
            if (ob.observation_size, ob.cameras, ob.actions) != shape:
                node = observe if ob.observation_size != behaviour.observation_size else (c.action_node or observe)
                errors.append(
                    (node, f"tree '{tree.name}' and tree '{other_tree.name}' (agent '{other.name}') feed Brain "
                     f"'{brain.name}' but disagree on observations or actions")
                )  # fmt: skip
                break
    return errors


def _describe(space: dict, decode=None) -> str:
    if space.get("kind") == "box":
        return f"{space['shape'][0] if space.get('shape') else 0} values"
    if space.get("kind") == "dict":
        return f"{len(space.get('spaces', {}))} parts (vector and images)"
    return str(space.get("kind", "?"))


def agents_using(tree, scene) -> list:
    if scene is None:
        return []
    return [
        o
        for o in scene.objects
        if getattr(o, "academy_agent", None) is not None
        and o.academy_agent.enabled
        and o.academy_agent.behaviour_tree == tree
    ]


# -- the editor ------------------------------------------------------------------------------------


def validate(tree, scene=None) -> list[tuple[str, str]]:
    """Validate ``tree`` (and its agents in ``scene``); mark the nodes at fault; return (node, message)."""
    errors: list[tuple[str, str]] = []
    notes: dict[str, str] = {}
    warnings: tuple = ()
    try:
        c = compiled(tree)
    except NodeError as exc:
        errors.append((exc.node, exc.message))
    else:
        notes, warnings = c.notes, c.warnings
        for obj in agents_using(tree, scene):
            for err in agent_errors(tree, c, obj, scene):
                if err not in errors:
                    errors.append(err)
    mark(tree, errors, notes, warnings)
    _validated[tree.name] = tree.revision
    return errors


def validate_changed(scene=None) -> None:
    """Validate every behaviour tree edited since it was last validated (the editor's timer)."""
    scene = scene or bpy.context.scene
    for tree in bpy.data.node_groups:
        if tree.bl_idname == TREE and _validated.get(tree.name) != tree.revision:
            validate(tree, scene)


def _node_at(tree, path: str):
    """(tree, node) pairs along ``path`` ("Group > Node"): the group nodes and the node itself."""
    out = []
    parts = path.split(" > ")
    current = tree
    for part in parts:
        if current is None:
            break
        node = current.nodes.get(part)
        if node is None:
            break
        out.append((current, node))
        current = getattr(node, "node_tree", None)
    return out


def mark(tree, errors, notes, warnings=()) -> None:
    """Show ``errors`` on their nodes (red header + message), ``notes`` and ``warnings``; clear old marks."""
    global MARKING
    MARKING = True
    try:
        trees = {tree.name: tree}
        for t_name in list({k[0] for k in ERRORS} | {k[0] for k in NOTES} | {k[0] for k in WARNINGS}):
            t = bpy.data.node_groups.get(t_name)
            if t is not None and (t == tree or t_name in _children(tree)):
                trees[t_name] = t
        for t in trees.values():
            for key in [k for k in ERRORS if k[0] == t.name]:
                del ERRORS[key]
            for key in [k for k in NOTES if k[0] == t.name]:
                del NOTES[key]
            for key in [k for k in WARNINGS if k[0] == t.name]:
                del WARNINGS[key]
        wanted = {}
        for path, message in errors:
            chain = _node_at(tree, path)
            if not chain:
                wanted.setdefault((tree.name, ""), message)
                continue
            for i, (t, node) in enumerate(chain):
                inner = i < len(chain) - 1
                wanted.setdefault((t.name, node.name), f"inside: {message}" if inner else message)
        for path, note in notes.items():
            chain = _node_at(tree, path)
            if chain:
                t, node = chain[-1]
                NOTES[(t.name, node.name)] = note
        for path, warning in warnings:
            chain = _node_at(tree, path)
            if chain:
                t, node = chain[-1]
                WARNINGS[(t.name, node.name)] = warning
        ERRORS.update(wanted)
        for t in trees.values():
            for node in t.nodes:
                _colour(node, (t.name, node.name) in wanted)
    finally:
        MARKING = False


def _children(tree) -> set[str]:
    out, stack = set(), [tree]
    while stack:
        t = stack.pop()
        for node in t.nodes:
            inner = getattr(node, "node_tree", None)
            if inner is not None and getattr(inner, "bl_idname", "") == TREE and inner.name not in out:
                out.add(inner.name)
                stack.append(inner)
    return out


def _colour(node, bad: bool) -> None:
    marked = node.get(_MARK_PROP) is not None
    if bad and not marked:
        node[_MARK_PROP] = [int(node.use_custom_color)] + list(node.color)
        node.use_custom_color = True
        node.color = ERROR_COLOUR
    elif not bad and marked:
        saved = list(node[_MARK_PROP])
        del node[_MARK_PROP]
        node.use_custom_color = bool(saved[0])
        node.color = saved[1:4]


def tree_errors(tree) -> list[tuple[str, str]]:
    """The messages currently shown on ``tree``'s nodes (node name, message)."""
    return [(k[1], v) for k, v in ERRORS.items() if k[0] == tree.name]


def tree_warnings(tree) -> list[tuple[str, str]]:
    """The warnings currently shown on ``tree``'s nodes (node name, message)."""
    return [(k[1], v) for k, v in WARNINGS.items() if k[0] == tree.name]


def scene_warnings(scene) -> list[str]:
    """One line per warning of every tree an enabled agent of ``scene`` uses: "tree 'T': node 'N': ..."."""
    trees = {}
    for obj in scene.objects:
        agent = getattr(obj, "academy_agent", None)
        if agent is not None and agent.enabled and agent.behaviour_tree is not None:
            trees.setdefault(agent.behaviour_tree.name, agent.behaviour_tree)
    lines = []
    for name, tree in sorted(trees.items()):
        try:
            c = compiled(tree)
        except NodeError:
            continue  # an error, reported as one when the run starts
        lines += [f"tree '{name}': node '{node}': {message}" for node, message in c.warnings]
    return lines


# -- the behaviour source --------------------------------------------------------------------------


def behaviour_source(obj):
    """``env.behaviours`` source: the compiled behaviour of ``obj``'s behaviour tree, or None."""
    agent = getattr(obj, "academy_agent", None)
    tree = getattr(agent, "behaviour_tree", None) if agent is not None else None
    if tree is None:
        return None
    scene = _scene_of(obj)
    try:
        c = compiled(tree)
    except NodeError as exc:
        _mark_safely(tree, [(exc.node, exc.message)], {})
        raise S.SpecError(f"tree '{tree.name}': {exc}") from None
    errors = agent_errors(tree, c, obj, scene)
    if errors:
        _mark_safely(tree, errors, c.notes)
        node, message = errors[0]
        raise S.SpecError(f"tree '{tree.name}': node '{node}': {message}")
    return c.behaviour


def behaviour_provenance(obj):
    """``env.behaviours`` provenance: which node of ``obj``'s behaviour tree made each write and
    expression (so a refusal can name the node), or None without a tree or when it does not compile."""
    from ..env.behaviours import Provenance

    tree = getattr(getattr(obj, "academy_agent", None), "behaviour_tree", None)
    if tree is None:
        return None
    try:
        c = compiled(tree)
    except NodeError:
        return None
    return Provenance(c.behaviour, tree.name, c.write_nodes, c.origins)


def _mark_safely(tree, errors, notes) -> None:
    try:
        mark(tree, errors, notes)
    except (AttributeError, RuntimeError):  # data is read-only here (e.g. during drawing)
        pass
