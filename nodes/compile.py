"""Compile a behaviour node tree into a ``core.specs.Behaviour`` (once, not per step).

The compiler starts from the nodes that add parts to the behaviour (Observe, the action nodes,
Reward, End Episode, Heuristic Action, the outputs) and pulls values through their links: each
node's ``build`` turns the values on its inputs into the values on its outputs. Reroutes pass
values through, frames are ignored, muted nodes pass their first matching input through (or are
skipped if they are sinks), group nodes compile their inner tree in place. Every problem raises
:class:`NodeError` naming the node, which :func:`compile_tree` reports as ``SpecError``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..core import specs as S
from .base import TREE, NodeError, exact
from .sockets import NUMERIC, compatible, kind_of

GROUP_NODE = "AcademyGroupNode"
PASS_NODES = {"NodeReroute"}
IGNORED_NODES = {"NodeFrame", "NodeGroupOutput"}


@dataclass
class Parts:
    """The behaviour being assembled; items carry the name of the node that made them."""

    observations: list = field(default_factory=list)
    cameras: list = field(default_factory=list)
    rewards: list = field(default_factory=list)
    group_rewards: list = field(default_factory=list)
    ends: list = field(default_factory=list)
    writes: list = field(default_factory=list)
    on_reset: list = field(default_factory=list)
    actions: object = None
    action_node: str = ""
    heuristic: object = None
    heuristic_node: str = ""
    observe_sizes: dict = field(default_factory=dict)  # node path -> observation size
    masks: list = field(default_factory=list)  # (node, branch name, choice name, enabled expression)
    branch_names: list = field(default_factory=list)  # of the Discrete Action node
    discrete_node: str = ""  # the Discrete Action node of hybrid actions
    discrete_offset: int = 0  # the first Action slot of its branches (the Continuous Action size it saw)

    def set_actions(self, actions, node: str) -> None:
        """Take the actions of an action node: one Continuous Action and one Discrete Action make hybrid actions."""
        if self.actions is None:
            self.actions, self.action_node = actions, node
            return
        kinds = (type(self.actions), type(actions))
        if kinds == (S.ContinuousActions, S.DiscreteActions):
            self.actions, self.discrete_node = S.HybridActions(self.actions, actions), node
        elif kinds == (S.DiscreteActions, S.ContinuousActions):
            self.actions, self.discrete_node = S.HybridActions(actions, self.actions), self.action_node
            self.action_node = node
        else:
            raise NodeError(
                node,
                f"a tree has one action node of each kind (Continuous Action, Discrete Action); "
                f"'{self.action_node}' already defines these actions",
            )

    def set_heuristic(self, expr, node: str) -> None:
        if self.heuristic is not None:
            raise NodeError(node, f"a tree has one Heuristic Action node; '{self.heuristic_node}' is another")
        self.heuristic, self.heuristic_node = expr, node


@dataclass
class Compiled:
    """A compiled tree: the behaviour and what validation shows on the nodes."""

    behaviour: S.Behaviour
    trees: dict  # name -> revision of every tree it read (itself and its groups)
    notes: dict  # node path -> note (Observe sizes)
    action_node: str = ""
    observe_nodes: tuple = ()
    property_nodes: tuple = ()  # (node path, object ref, data path, index, size, is write)
    object_nodes: tuple = ()  # (node path, object ref) of every Object node that was read
    reset_param_nodes: tuple = ()  # (node path, parameter name) of every Reset Parameter node read
    warnings: tuple = ()  # (node path, message): compiles, but probably not what was meant
    other_agent_nodes: tuple = ()  # (node path, agent: reference) of every Other Agent node read
    write_nodes: tuple = ()  # node path of each of ``behaviour.writes``, in order
    origins: dict = field(default_factory=dict)  # expression -> path of the node whose output it first is


# Parts lists of (node name, part) whose errors, found after every node emitted, name the node
_NAMED_PARTS = ("rewards", "group_rewards", "ends", "writes", "on_reset", "masks")


def natural_key(name: str):
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


class _Frame:
    """One tree being evaluated: the top tree, or a group's inner tree for one group node."""

    def __init__(self, tree, prefix: str, group_inputs=None, depth: int = 0):
        self.tree = tree
        self.prefix = prefix  # "Group > " for nodes inside a group node named Group
        self.group_inputs = group_inputs  # identifier -> value of the group node's inputs
        self.depth = depth
        self.memo: dict[str, dict] = {}
        self.visiting: set[str] = set()
        # Blender's ``socket.links`` scans every link of the tree: index them once (linear compile)
        self._links: dict[tuple[str, str], list] = {}
        for link in tree.links:
            self._links.setdefault((link.to_node.name, link.to_socket.identifier), []).append(link)

    def path(self, node) -> str:
        return f"{self.prefix}{node.name}"

    def links_into(self, node, socket) -> list:
        """The links into input ``socket`` of ``node`` (muted ones included)."""
        return self._links.get((node.name, socket.identifier), []) if socket.is_linked else []


class Compiler:
    def __init__(self, tree):
        self.tree = tree
        self.trees = {tree.name: tree.revision}
        self.notes: dict[str, str] = {}
        self.property_nodes: list = []
        self.observe_nodes: list[str] = []
        self.object_nodes: list[tuple[str, str]] = []
        self.reset_param_nodes: list[tuple[str, str]] = []
        self.other_agent_nodes: list[tuple[str, str]] = []
        self.warnings: list[tuple[str, str]] = []
        self.origins: dict = {}

    # -- values ------------------------------------------------------------------------------
    def input_value(self, frame: _Frame, node, socket):
        """The value on input ``socket`` of ``node`` (a list for multi-input sockets)."""
        kind = kind_of(socket)
        links = [link for link in frame.links_into(node, socket) if not link.is_muted]
        for link in links:
            if not link.is_valid:
                what = "makes a cycle" if _reaches(link.to_node, link.from_node) else "is invalid"
                raise NodeError(
                    frame.path(node), f"the link from '{link.from_node.name}' into '{socket.name}' {what} (drawn red)"
                )
        if getattr(socket, "is_multi_input", False):
            links.sort(key=lambda link: link.multi_input_sort_id)
            values = []
            for link in links:
                value = self.link_value(frame, node, socket, kind, link)
                values.extend(value if isinstance(value, list) else [value])  # a group passes lists on
            return values
        if not links:
            return self.default(frame, node, socket, kind)
        return self.link_value(frame, node, socket, kind, links[0])

    def link_value(self, frame, node, socket, kind, link):
        from_node, from_socket = link.from_node, link.from_socket
        seen = 0
        while from_node.bl_idname in PASS_NODES:  # reroutes
            seen += 1
            ins = [li for li in frame.links_into(from_node, from_node.inputs[0]) if li.is_valid and not li.is_muted]
            if not ins or seen > 1000:
                return self.default(frame, node, socket, kind)
            from_node, from_socket = ins[0].from_node, ins[0].from_socket
        if from_node.bl_idname == "NodeGroupInput":
            if frame.group_inputs is None:
                raise NodeError(frame.path(node), f"input '{socket.name}' comes from a Group Input outside a group")
            if from_socket.identifier not in frame.group_inputs:
                raise NodeError(frame.path(node), f"input '{socket.name}' is linked to an empty group input")
            value, from_kind = frame.group_inputs[from_socket.identifier]
        else:
            outs = self.node_outputs(frame, from_node)
            from_kind = kind_of(from_socket)
            if from_socket.identifier not in outs:
                raise NodeError(
                    frame.path(from_node), f"output '{from_socket.name}' has no value here (is the vector too short?)"
                )
            value = outs[from_socket.identifier]
        if from_kind is None or not compatible(from_kind, kind):
            raise NodeError(
                frame.path(node),
                f"input '{socket.name}' takes {_kind_name(kind)}, but '{from_node.name}' gives {_kind_name(from_kind)}",
            )
        return value

    def default(self, frame, node, socket, kind):
        if socket.name in getattr(node, "required", ()):
            raise NodeError(frame.path(node), f"input '{socket.name}' needs a link")
        if kind == "OBJECT":
            return None if socket.name in getattr(node, "optional", ()) else S.SELF
        if kind in ("FLOAT", "BOOL") and hasattr(socket, "default_value"):
            return S.Const((exact(socket, "default_value"),))
        if kind == "VECTOR" and hasattr(socket, "default_value"):
            return S.Const(tuple(exact(socket, "default_value")))
        if kind == "OBSERVATION" and getattr(socket, "is_multi_input", False):
            return []
        raise NodeError(frame.path(node), f"input '{socket.name}' needs a link")

    def node_outputs(self, frame: _Frame, node) -> dict:
        key = node.name
        if key in frame.memo:
            return frame.memo[key]
        if not frame.visiting:
            self._evaluate_upstream(frame, node)
        if key in frame.visiting:
            raise NodeError(frame.path(node), "is part of a cycle: its output comes back into it")
        frame.visiting.add(key)
        try:
            outs = self._evaluate(frame, node)
        finally:
            frame.visiting.discard(key)
        frame.memo[key] = outs
        return outs

    def _evaluate_upstream(self, frame: _Frame, node) -> None:
        """Evaluate the nodes ``node`` reads from, sources first, without recursion (a long chain of
        nodes must not exhaust Python's stack). Each is then a memo hit when ``node`` reads it."""
        order: list = []
        state: dict[str, int] = {}  # 1: its sources are being visited, 2: done
        stack = [(node, False)]
        while stack:
            current, expanded = stack.pop()
            name = current.name
            if expanded:
                state[name] = 2
                order.append(current)
                continue
            if state.get(name) or name in frame.memo:
                continue
            state[name] = 1
            stack.append((current, True))
            if current.mute:  # passes one input through: reads only what it needs, when evaluated
                continue
            for source in self._sources(frame, current):
                if state.get(source.name) == 1:
                    raise NodeError(frame.path(source), "is part of a cycle: its output comes back into it")
                if not state.get(source.name) and source.name not in frame.memo:
                    stack.append((source, False))
        for upstream in order[:-1]:  # the last one is ``node`` itself
            self.node_outputs(frame, upstream)

    def _sources(self, frame: _Frame, node):
        """The nodes whose outputs ``node``'s inputs read (through reroutes; not Group Inputs)."""
        for socket in node.inputs:
            if not socket.enabled:
                continue
            for link in frame.links_into(node, socket):
                if link.is_muted or not link.is_valid:
                    continue
                source, hops = link.from_node, 0
                while source.bl_idname in PASS_NODES and hops < 1000:
                    hops += 1
                    ins = [li for li in frame.links_into(source, source.inputs[0]) if li.is_valid and not li.is_muted]
                    if not ins:
                        break
                    source = ins[0].from_node
                if source.bl_idname not in PASS_NODES and source.bl_idname != "NodeGroupInput":
                    yield source

    def _evaluate(self, frame: _Frame, node) -> dict:
        idname = node.bl_idname
        if idname == GROUP_NODE:
            return self.group_outputs(frame, node)
        if not hasattr(node, "build") or idname in IGNORED_NODES or idname == "NodeGroupInput":
            raise NodeError(frame.path(node), f"'{node.bl_label}' nodes do not belong in a behaviour tree")
        if node.mute:
            return self.muted_outputs(frame, node)
        ins = self.node_inputs(frame, node)
        try:
            outs = node.build(ins)
        except NodeError as exc:
            raise NodeError(frame.path(node), exc.message) from None
        except S.SpecError as exc:
            raise NodeError(frame.path(node), str(exc)) from None
        for ident, value in outs.items():
            if isinstance(value, S.Expr):
                self.check_expr(frame, node, value, ident)
                self.origins.setdefault(value, frame.path(node))  # sources first: a pass-through keeps its source
        if idname == "AcademyObjectNode":
            self.object_nodes.append((frame.path(node), outs["Object"]))
        if idname == "AcademyOtherAgentNode":
            self.other_agent_nodes.append((frame.path(node), outs["Agent"]))
        if idname == "AcademyResetParameterNode":
            self.reset_param_nodes.append((frame.path(node), outs["Value"].name))
        if idname == "AcademyPropertyNode" and "Value" in outs:
            p = outs["Value"]
            self.property_nodes.append((frame.path(node), p.obj, p.path, p.index, p.size, False))
        return outs

    def node_inputs(self, frame, node) -> dict:
        ins = {}
        for socket in node.inputs:
            if not socket.enabled:
                continue
            kind = kind_of(socket)
            if kind is None:
                raise NodeError(frame.path(node), f"input '{socket.name}' is of an unknown kind")
            if socket.hide and not socket.is_linked:
                ins[socket.identifier] = [] if kind == "OBSERVATION" else self.default(frame, node, socket, kind)
                continue
            ins[socket.identifier] = self.input_value(frame, node, socket)
        return ins

    def muted_outputs(self, frame, node) -> dict:
        """A muted node passes its first input of a matching kind through to each output."""
        outs = {}
        for out in node.outputs:
            okind = kind_of(out)
            for socket in node.inputs:
                ikind = kind_of(socket)
                if ikind is not None and (ikind == okind or (ikind in NUMERIC and okind in NUMERIC)):
                    if socket.is_linked or ikind != "OBJECT":
                        outs[out.identifier] = self.input_value(frame, node, socket)
                        break
            else:
                raise NodeError(frame.path(node), f"is muted and has no input to pass to '{out.name}'")
        return outs

    def check_expr(self, frame, node, value, ident) -> None:
        if value.depth > S.MAX_DEPTH:  # the first node past the limit is the one named
            raise NodeError(
                frame.path(node), f"output '{ident}' is more than {S.MAX_DEPTH} operations deep; simplify the chain"
            )
        try:
            _ = value.size
            if isinstance(value, S.Component) and not 0 <= value.index < value.x.size:
                raise S.SpecError(f"component {value.index} of a value of size {value.x.size}")
            if isinstance(value, S.Select) and not value.options:
                raise S.SpecError("no options")
        except S.SpecError as exc:
            raise NodeError(frame.path(node), f"output '{ident}': {exc}") from None

    # -- groups ------------------------------------------------------------------------------
    def group_outputs(self, frame: _Frame, node) -> dict:
        inner = node.node_tree
        if inner is None:
            raise NodeError(frame.path(node), "the group node has no node tree")
        if inner.bl_idname != TREE:
            raise NodeError(frame.path(node), f"'{inner.name}' is not an Agent Behaviour tree")
        if frame.depth > 16 or inner == frame.tree or inner == self.tree:
            raise NodeError(frame.path(node), f"group '{inner.name}' contains itself")
        self.trees[inner.name] = inner.revision
        values = {}
        for socket in node.inputs:  # every input: an inner Group Input may read any of them
            values[socket.identifier] = (self.input_value(frame, node, socket), kind_of(socket) or "FLOAT")
        sub = _Frame(inner, f"{frame.prefix}{node.name} > ", values, frame.depth + 1)
        outputs = [n for n in inner.nodes if n.bl_idname == "NodeGroupOutput" and not n.mute]
        active = [n for n in outputs if getattr(n, "is_active_output", False)] or outputs[:1]
        outs = {}
        if active:
            out_node = active[0]
            for socket in out_node.inputs:
                if socket.bl_idname == "NodeSocketVirtual":
                    continue
                kind = kind_of(socket)
                if kind is None:
                    raise NodeError(sub.path(out_node), f"socket '{socket.name}' is of an unknown kind")
                outs[socket.identifier] = self.input_value(sub, out_node, socket)
        # sinks inside a group add their parts too
        self.emit_sinks(sub)
        return outs

    # -- the tree ----------------------------------------------------------------------------
    def emit_sinks(self, frame: _Frame, parts: Parts | None = None) -> None:
        parts = parts if parts is not None else self.parts
        for node in sorted(frame.tree.nodes, key=lambda n: natural_key(n.name)):
            if not getattr(node, "is_sink", False) or node.mute:
                continue
            if node.bl_idname == "AcademyObserveNode":
                before = sum(o.size for o in parts.observations)
                cams = len(parts.cameras)
            ins = self.node_inputs(frame, node)
            value = node.inputs.get("Value") if hasattr(node, "add_write") else None
            # a constant On Reset write is a plain reset; a constant every frame is probably a missing link
            if value is not None and value.enabled and not value.is_linked and node.when != "RESET":
                self.warnings.append((frame.path(node), "Value is not linked: it writes the same number every time"))
            counts = {kind: len(getattr(parts, kind)) for kind in _NAMED_PARTS}
            try:
                node.emit(ins, parts)
            except NodeError as exc:
                raise NodeError(frame.path(node), exc.message) from None
            except S.SpecError as exc:
                raise NodeError(frame.path(node), str(exc)) from None
            if frame.prefix:  # parts checked later name their node by its path ("Group > Node")
                for kind, before_emit in counts.items():
                    items = getattr(parts, kind)
                    items[before_emit:] = [(frame.path(node), *item[1:]) for item in items[before_emit:]]
                if parts.heuristic_node == node.name and parts.heuristic is not None:
                    parts.heuristic_node = frame.path(node)
            if node.bl_idname == "AcademyObserveNode":
                size = sum(o.size for o in parts.observations) - before
                extra = len(parts.cameras) - cams
                self.notes[frame.path(node)] = f"Size: {size}" + (f" + {extra} image(s)" if extra else "")
                self.observe_nodes.append(frame.path(node))
        # groups whose outputs nobody reads still add their sinks
        for node in frame.tree.nodes:
            if node.bl_idname == GROUP_NODE and node.name not in frame.memo and not node.mute:
                self.node_outputs(frame, node)

    def compile(self) -> Compiled:
        self.parts = Parts()
        top = _Frame(self.tree, "")
        self.emit_sinks(top)
        parts = self.parts
        if not any(getattr(n, "is_sink", False) for n in self.tree.nodes) and not any(
            n.bl_idname == GROUP_NODE for n in self.tree.nodes
        ):
            raise NodeError(self.tree.name, "the tree is empty: add an Observe, an action and a Reward node")
        if parts.actions is None:
            raise NodeError(self.tree.name, "has no actions: add a Continuous Action or Discrete Action node")
        n_act = S.action_slots(parts.actions)
        if isinstance(parts.actions, S.HybridActions) and parts.discrete_offset != parts.actions.continuous.size:
            raise NodeError(
                parts.discrete_node,
                f"hybrid actions need the Continuous Action node '{parts.action_node}' in the same tree as this "
                "Discrete Action node (its branches follow the continuous actions)",
            )
        self._check_parts(parts, n_act)
        for name, w in parts.writes + parts.on_reset:
            self.property_nodes.append((name, w.obj, w.path, w.index, w.value.size, True))
        self._warn_unused_actions(parts, n_act)
        masks = self._masks(parts)
        behaviour = S.Behaviour(
            observations=tuple(parts.observations),
            actions=parts.actions,
            writes=tuple(w for _, w in parts.writes),
            rewards=tuple(r for _, r in parts.rewards),
            group_rewards=tuple(r for _, r in parts.group_rewards),
            ends=tuple(e for _, e in parts.ends),
            cameras=tuple(parts.cameras),
            on_reset=tuple(w for _, w in parts.on_reset),
            heuristic=parts.heuristic,
            name=self.tree.name,
            masks=masks,
        )
        try:
            behaviour.validate()
        except S.SpecError as exc:
            raise NodeError(self.tree.name, str(exc)) from None
        return Compiled(
            behaviour, dict(self.trees), dict(self.notes), parts.action_node, tuple(self.observe_nodes),
            tuple(self.property_nodes), tuple(self.object_nodes), tuple(self.reset_param_nodes), tuple(self.warnings),
            tuple(self.other_agent_nodes), tuple(name for name, _ in parts.writes), dict(self.origins),
        )  # fmt: skip

    def _masks(self, parts: Parts) -> tuple:
        """The Action Mask nodes' masks, their branch and choice names resolved against the Discrete Action node."""
        out = []
        for node, branch, choice, enabled in parts.masks:
            discrete = S.discrete_part(parts.actions)
            if discrete is None:
                raise NodeError(node, f"only discrete actions can be masked; '{parts.action_node}' is continuous")
            names = parts.branch_names
            if branch:
                if branch not in names:
                    raise NodeError(node, f"branch '{branch}' does not exist (branches: {', '.join(names)})")
                b = names.index(branch)
            elif len(names) == 1:
                b = 0
            else:
                raise NodeError(node, f"name the branch to mask (branches: {', '.join(names)})")
            choices = discrete.branches[b]
            if choice in choices:
                c = choices.index(choice)
            elif choice.isdigit() and int(choice) < len(choices):
                c = int(choice)
            else:
                raise NodeError(
                    node, f"branch '{names[b]}' has no choice '{choice}' (its choices: {', '.join(choices)})"
                )
            mask = S.Mask(b, c, enabled, node)
            try:
                S.check_masks((mask,), parts.actions, "")
            except S.SpecError as exc:
                raise NodeError(node, str(exc).split(": ", 2)[-1]) from None
            out.append(mask)
        try:
            S.check_masks(tuple(out), parts.actions, "")
        except S.SpecError as exc:
            raise NodeError(out[0].name, str(exc).removeprefix(": ")) from None
        return tuple(out)

    def _warn_unused_actions(self, parts: Parts, n_act: int) -> None:
        """Warn on the action node about actions nothing reads: the Brain would learn choices that do nothing."""
        used: set[int] = set()
        exprs = [w.value for _, w in parts.writes] + [r.value for _, r in parts.rewards]
        exprs += [r.value for _, r in parts.group_rewards]
        exprs += [e.condition for _, e in parts.ends]
        for expr in exprs:
            for e in S.walk(expr):
                if isinstance(e, S.Action):
                    used.update(range(e.index, e.index + e.size))
        unused = [i + 1 for i in range(n_act) if i not in used]
        if unused:
            which = f"Action {unused[0]}" if len(unused) == 1 else f"Actions {', '.join(map(str, unused))}"
            self.warnings.append((parts.action_node, f"{which} feed{'s' if len(unused) == 1 else ''} nothing: "
                                  "the Brain would learn choices that change nothing"))  # fmt: skip

    def _check_parts(self, parts: Parts, n_act: int) -> None:
        """Validate each part alone so an error names the node that made it."""
        actions = parts.actions
        checks = [(name, S.Behaviour(actions=actions, rewards=(r,))) for name, r in parts.rewards]
        checks += [(name, S.Behaviour(actions=actions, group_rewards=(r,))) for name, r in parts.group_rewards]
        checks += [(name, S.Behaviour(actions=actions, ends=(e,))) for name, e in parts.ends]
        checks += [(name, S.Behaviour(actions=actions, writes=(w,))) for name, w in parts.writes]
        checks += [(name, S.Behaviour(actions=actions, on_reset=(w,))) for name, w in parts.on_reset]
        for obs in parts.observations:
            checks.append((self.observe_nodes[0] if self.observe_nodes else "Observe",
                           S.Behaviour(actions=actions, observations=(obs,))))  # fmt: skip
        for cam in parts.cameras:
            checks.append((self.observe_nodes[0] if self.observe_nodes else "Observe",
                           S.Behaviour(actions=actions, cameras=(cam,))))  # fmt: skip
        if parts.heuristic is not None:
            if parts.heuristic.size != n_act:
                raise NodeError(
                    parts.heuristic_node, f"gives {parts.heuristic.size} action values, the actions need {n_act}"
                )
            checks.append((parts.heuristic_node, S.Behaviour(actions=actions, heuristic=parts.heuristic)))
        for name, b in checks:
            try:
                b.validate()
            except S.SpecError as exc:
                raise NodeError(name, str(exc).removeprefix("behaviour: ")) from None


def _reaches(start, goal) -> bool:
    """Whether ``goal`` is downstream of ``start`` (following links)."""
    seen, stack = set(), [start]
    while stack:
        node = stack.pop()
        if node == goal:
            return True
        if node.name in seen:
            continue
        seen.add(node.name)
        stack.extend(link.to_node for out in node.outputs for link in out.links)
    return False


def _kind_name(kind) -> str:
    return {
        "FLOAT": "a number",
        "VECTOR": "a vector",
        "BOOL": "a boolean",
        "OBJECT": "an object",
        "ACTION": "an action",
        "RAYS": "ray readings",
        "IMAGE": "an image",
        "OBSERVATION": "observations",
        None: "something else",
    }.get(kind, kind.lower())


def compile_tree(tree) -> Compiled:
    """Compile ``tree``; raise :class:`NodeError` naming the node at fault."""
    try:
        return Compiler(tree).compile()
    except NodeError:
        raise
    except RecursionError:
        raise NodeError(tree.name, "the tree is nested too deeply") from None
    except (AttributeError, TypeError, ValueError, KeyError, IndexError, ReferenceError) as exc:
        # a bug of ours must not stop the designer's Blender: report it on the tree (the fuzz test fails on it)
        raise NodeError(tree.name, f"internal error compiling the tree ({type(exc).__name__}: {exc})") from exc
