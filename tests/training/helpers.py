"""Small environments and utilities shared by the training tests (no gymnasium needed for these)."""

from __future__ import annotations

import numpy as np

from academy_pure.training import Box, Dict, Discrete, Image, Space


def sample_obs(space: Space, n: int, rng: np.random.Generator):
    """A random observation batch for ``space``."""
    if isinstance(space, Dict):
        return {k: sample_obs(s, n, rng) for k, s in space.spaces.items()}
    if isinstance(space, Image):
        if space.dtype == "uint8":
            return rng.integers(0, 256, (n, *space.shape)).astype(np.uint8)
        return rng.random((n, *space.shape)).astype(np.float32)
    assert isinstance(space, Box)
    return (rng.normal(size=(n, *space.shape)) * 3).astype(np.float32)


class DotSide:
    """N agents each see a 32x32 RGB image with a 3x3 dot; action 0/1 = dot is left/right.

    Reward 1 for the right answer, 0 otherwise; a new image every step; episodes of 10 steps
    (ending at different times per agent), so chance is a return of 5 and perfect is 10.
    """

    obs_space = Image(32, 32, 3)
    action_space = Discrete(2)

    def __init__(self, n: int, seed: int = 0) -> None:
        self.n = n
        self.rng = np.random.default_rng(seed)
        self.t = self.rng.integers(0, 10, n)  # staggered episode ends
        self.side = np.zeros(n, np.int64)
        self.obs = np.zeros((n, 32, 32, 3), np.uint8)

    def _draw(self, idx: np.ndarray) -> None:
        for i in idx:
            self.obs[i] = self.rng.integers(0, 30, (32, 32, 3))  # noise background
            side = self.rng.integers(0, 2)
            x = self.rng.integers(2, 13) + 16 * side
            y = self.rng.integers(2, 30)
            self.obs[i, y - 1 : y + 2, x - 1 : x + 2] = 255
            self.side[i] = side

    def reset(self) -> np.ndarray:
        self._draw(np.arange(self.n))
        return self.obs.copy()

    def step(self, actions: np.ndarray):
        rewards = (actions == self.side).astype(np.float32)
        self.t += 1
        done = self.t >= 10
        self.t[done] = 0
        self._draw(np.arange(self.n))
        return self.obs.copy(), rewards, done, np.zeros(self.n, bool)


def run_dot_side(learner, env: DotSide, steps: int) -> float:
    """Drive ``learner`` on ``env`` for ``steps`` decision steps; returns greedy accuracy after."""
    obs = env.reset()
    for _ in range(steps):
        a = learner.act(obs)
        obs, r, term, trunc = env.step(a)
        learner.observe(r, term, trunc, obs)
    correct = 0
    for _ in range(20):
        a = learner.predict(obs)
        correct += int((a == env.side).sum())
        obs, *_ = env.step(a)
    return correct / (20 * env.n)


class GoalGrid:
    """N agents, each alone on a ``size`` x ``size`` grid with a goal cell, like a Blender scene of
    many agents: the observation is the agent's and the goal's (x, y) scaled to [-1, 1]; actions
    0-3 move +x, -x, +y, -y (walls stop). Reaching the goal gives 1 and ends the episode; every
    other step costs 0.01; episodes are cut after ``4 * size`` steps. A random start and goal each
    episode; the optimal return from distance d is 1 - 0.01 (d - 1).
    """

    action_space = Discrete(4)
    MOVES = np.array([[1, 0], [-1, 0], [0, 1], [0, -1]])

    def __init__(self, n: int, size: int = 5, seed: int = 0) -> None:
        self.n, self.size = n, size
        self.obs_space = Box((4,))
        self.max_steps = 4 * size
        self.rng = np.random.default_rng(seed)
        self.pos = np.zeros((n, 2), np.int64)
        self.goal = np.zeros((n, 2), np.int64)
        self.t = np.zeros(n, np.int64)

    def _obs(self) -> np.ndarray:
        both = np.concatenate([self.pos, self.goal], axis=1)
        return (both / (self.size - 1) * 2.0 - 1.0).astype(np.float32)

    def _new_episodes(self, idx: np.ndarray) -> None:
        cells = self.size * self.size
        for i in idx:
            a, b = self.rng.choice(cells, 2, replace=False)
            self.pos[i] = divmod(int(a), self.size)
            self.goal[i] = divmod(int(b), self.size)
        self.t[idx] = 0

    def reset(self) -> np.ndarray:
        self._new_episodes(np.arange(self.n))
        return self._obs()

    def step(self, actions: np.ndarray):
        """(next_obs, rewards, terminated, truncated, final_obs); ended episodes restart at once."""
        self.pos = np.clip(self.pos + self.MOVES[np.asarray(actions)], 0, self.size - 1)
        self.t += 1
        term = (self.pos == self.goal).all(axis=1)
        trunc = (self.t >= self.max_steps) & ~term
        rewards = np.where(term, 1.0, -0.01).astype(np.float32)
        final = self._obs()
        done = term | trunc
        if done.any():
            self._new_episodes(np.flatnonzero(done))
        return self._obs(), rewards, term, trunc, final

    def all_pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """Every (start, goal) pair of distinct cells."""
        cells = np.array([divmod(c, self.size) for c in range(self.size * self.size)])
        a, b = np.meshgrid(np.arange(len(cells)), np.arange(len(cells)), indexing="ij")
        keep = a.ravel() != b.ravel()
        return cells[a.ravel()[keep]], cells[b.ravel()[keep]]

    def optimal_return(self) -> float:
        start, goal = self.all_pairs()
        return float(np.mean(1.0 - 0.01 * (np.abs(start - goal).sum(axis=1) - 1)))

    def evaluate(self, policy) -> float:
        """Mean return of ``policy(obs) -> actions`` over every (start, goal) pair, one episode each."""
        start, goal = self.all_pairs()
        env = GoalGrid(len(start), self.size)
        env.pos, env.goal = start.copy(), goal.copy()
        total = np.zeros(len(start))
        running = np.ones(len(start), bool)
        for _ in range(self.max_steps):
            obs = env._obs()
            env.pos = np.where(running[:, None], np.clip(env.pos + self.MOVES[policy(obs)], 0, self.size - 1), env.pos)
            reached = running & (env.pos == env.goal).all(axis=1)
            total += np.where(reached, 1.0, np.where(running, -0.01, 0.0))
            running &= ~reached
        return float(total.mean())


def train_goal_grid(learner, env: GoalGrid, steps: int) -> float:
    """Train ``learner`` for ``steps`` agent steps (one run) on ``env``; returns the greedy return."""
    learner.begin_run(steps)
    obs = env.reset()
    target = learner.total_steps + steps
    while learner.total_steps < target:
        nxt, r, term, trunc, final = env.step(learner.act(obs))
        learner.observe(r, term, trunc, nxt, final_obs=final)
        obs = nxt
    return env.evaluate(lambda o: learner.predict(o))


def goal_grid_scores(config, seeds, steps: int, size: int = 5, n: int = 16) -> list[float]:
    """Per seed: how much of the way from a random policy to the optimal one the greedy policy got
    after training ``config`` for ``steps`` agent steps on ``GoalGrid`` (0 = random, 1 = optimal).
    The random baseline is measured on the same evaluation episodes."""
    from academy_pure.training import make_learner

    scores = []
    for seed in seeds:
        env = GoalGrid(n, size, seed=seed)
        learner = make_learner(config, env.obs_space, env.action_space, num_agents=n, seed=seed)
        greedy = train_goal_grid(learner, env, steps)
        rng = np.random.default_rng(seed)
        random = env.evaluate(lambda o, rng=rng: rng.integers(0, 4, len(o)))
        scores.append((greedy - random) / (env.optimal_return() - random))
    return scores


class Corridor:
    """A sparse-reward corridor: N agents start at cell 0 of ``length`` cells, seeing their cell one-hot.

    Actions: 0 = step left (a wall at 0), 1 = step right. Reward 1 only on reaching the last cell
    (which ends the episode); else nothing until ``horizon`` steps truncate it. A random walk seldom
    gets that far, so PPO alone rarely sees a reward: exploration has to find it.
    """

    action_space = Discrete(2)

    def __init__(self, n: int, length: int = 20, horizon: int = 60, seed: int = 0) -> None:
        self.n, self.length, self.horizon = n, length, horizon
        self.obs_space = Box((length,), 0.0, 1.0)
        self.pos = np.zeros(n, np.int64)
        self.t = np.zeros(n, np.int64)
        self.visited = np.zeros(length, bool)  # every cell any agent has been in

    def obs(self, pos: np.ndarray | None = None) -> np.ndarray:
        pos = self.pos if pos is None else pos
        out = np.zeros((len(pos), self.length), np.float32)
        out[np.arange(len(pos)), pos] = 1.0
        return out

    def step(self, a: np.ndarray):
        """Move; returns (obs after any reset, rewards, terminated, truncated, final obs)."""
        self.pos = np.clip(self.pos + np.where(np.asarray(a) == 1, 1, -1), 0, self.length - 1)
        self.t += 1
        self.visited[self.pos] = True
        term = self.pos == self.length - 1
        trunc = (self.t >= self.horizon) & ~term
        rew = term.astype(np.float32)
        final = self.obs()
        done = term | trunc
        self.pos[done], self.t[done] = 0, 0
        return self.obs(), rew, term, trunc, final


def run_corridor(learner, env: Corridor, steps: int) -> None:
    """Train ``learner`` (num_agents = env.n) on ``env`` for ``steps`` agent steps."""
    obs = env.obs()
    for _ in range(steps // env.n):
        a = learner.act(obs)
        obs, rew, term, trunc, final = env.step(a)
        learner.observe(rew, term, trunc, next_obs=obs, final_obs=final)


def corridor_solved(learner, env: Corridor) -> bool:
    """Does the greedy policy walk from cell 0 to the end within the horizon?"""
    pos = 0
    for _ in range(env.horizon):
        a = int(np.asarray(learner.predict(env.obs(np.array([pos])), deterministic=True)).reshape(-1)[0])
        pos = min(max(pos + (1 if a == 1 else -1), 0), env.length - 1)
        if pos == env.length - 1:
            return True
    return False


class PixelGrid:
    """Grid World from pixels without Blender: N agents, each on a 5x5 grid with a goal (+1) and a pit
    (-1), both ending the episode; -0.01 a step, 30 steps at most. Each sees only a 32x32 RGB top-down
    image in the example's colours (grey floor; blue agent, green goal, red pit squares of about 5 px).
    Actions 0-3 move up, down, left, right (walls stop). Random moves succeed about 0.35 of the time.
    """

    obs_space = Image(32, 32, 3)
    action_space = Discrete(4)
    CELLS, RES, MAX_STEPS = 5, 32, 30
    MOVES = np.array([[0, 1], [0, -1], [-1, 0], [1, 0]])
    FLOOR, COLOURS = (128, 128, 128), ((115, 158, 238), (83, 227, 115), (238, 83, 83))  # agent, goal, pit

    def __init__(self, n: int, seed: int = 0) -> None:
        self.n, self.rng = n, np.random.default_rng(seed)
        self.cells = np.zeros((n, 3, 2), np.int64)  # agent, goal, pit
        self.t = np.zeros(n, np.int64)
        self._new(np.arange(n))

    def _new(self, idx: np.ndarray) -> None:
        for i in idx:
            picks = self.rng.choice(self.CELLS * self.CELLS, 3, replace=False)
            self.cells[i] = [divmod(int(c), self.CELLS) for c in picks]
        self.t[idx] = 0

    def obs(self) -> np.ndarray:
        img = np.empty((self.n, self.RES, self.RES, 3), np.uint8)
        img[:] = self.FLOOR
        px = self.RES / self.CELLS
        for i in range(self.n):
            for (x, y), colour in zip(self.cells[i, ::-1], self.COLOURS[::-1], strict=True):  # agent on top
                row = self.CELLS - 1 - y
                img[
                    i,
                    round(row * px + 0.6) : round((row + 1) * px - 0.6),
                    round(x * px + 0.6) : round((x + 1) * px - 0.6),
                ] = colour
        return img

    def step(self, actions: np.ndarray):
        """(next obs, rewards, terminated, truncated, final obs); ended episodes restart at once."""
        self.cells[:, 0] = np.clip(self.cells[:, 0] + self.MOVES[np.asarray(actions).reshape(-1)], 0, self.CELLS - 1)
        self.t += 1
        goal = (self.cells[:, 0] == self.cells[:, 1]).all(axis=1)
        pit = (self.cells[:, 0] == self.cells[:, 2]).all(axis=1)
        rewards = np.where(goal, 1.0, np.where(pit, -1.0, -0.01)).astype(np.float32)
        term = goal | pit
        trunc = (self.t >= self.MAX_STEPS) & ~term
        final = self.obs()
        self._new(np.flatnonzero(term | trunc))
        return self.obs(), rewards, term, trunc, final

    def success(self, policy, episodes: int = 200, seed: int = 12345) -> float:
        """Share of ``episodes`` fresh episodes in which ``policy(obs) -> actions`` reaches the goal."""
        env = PixelGrid(episodes, seed)
        running, reached = np.ones(episodes, bool), np.zeros(episodes, bool)
        for _ in range(self.MAX_STEPS):
            moved = np.clip(env.cells[:, 0] + self.MOVES[np.asarray(policy(env.obs())).reshape(-1)], 0, self.CELLS - 1)
            env.cells[:, 0] = np.where(running[:, None], moved, env.cells[:, 0])
            goal = running & (env.cells[:, 0] == env.cells[:, 1]).all(axis=1)
            pit = running & (env.cells[:, 0] == env.cells[:, 2]).all(axis=1)
            reached |= goal
            running &= ~(goal | pit)
        return float(reached.mean())


def pixel_grid_success(config, seed: int, steps: int, n: int = 8) -> float:
    """Train ``config`` on :class:`PixelGrid` for ``steps`` agent steps; the success of its policy on
    200 unseen episodes as Play acts (PPO samples its actions, DQN takes its best-valued one)."""
    from academy_pure.training import make_learner

    env = PixelGrid(n, seed)
    learner = make_learner(config, env.obs_space, env.action_space, num_agents=n, seed=seed)
    learner.begin_run(steps)
    obs = env.obs()
    while learner.total_steps < steps:
        nxt, r, term, trunc, final = env.step(learner.act(obs))
        learner.observe(r, term, trunc, nxt, final_obs=final)
        obs = nxt
    greedy = config.algorithm != "ppo"
    return env.success(lambda o: learner.predict(o, deterministic=greedy))
