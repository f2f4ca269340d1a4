"""Run-time isolation: devices, random seeds, threads and Pyro's param store.

Every fit, predict and draw in skbayes runs inside ``isolated_run``, so
that an estimator never reads or leaves behind global state: the caller's torch
RNG, Pyro's global parameter store and handler stack and torch's thread count
are as they were afterwards, and two estimators in one process cannot see each
other's parameters.

That state is process-wide, so ``isolated_run`` blocks hold one process-wide
lock: estimators fitted in threads run their Pyro and torch sections one at a
time and give the serial answer bit for bit. Processes (joblib's default
backend) are what run fits in parallel.
"""

from __future__ import annotations

import io
import pickle
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pyro
import torch

from ._compat import pyro_handler_stack

_DEVICE_PATTERN = re.compile(r"^(cpu|cuda|cuda:\d+|auto)$")

# Below this many entries of data per step, torch's intra-op threads cost more in
# synchronisation than they save; one thread is also far steadier when the
# machine is busy.
SMALL_PROBLEM_SIZE = 1_000_000

# Pyro's handler stack and param store, torch's default generators and its
# thread count are globals: one block at a time may change them. Reentrant,
# because a run may draw from a guide or a closed form inside another run.
_GLOBAL_STATE_LOCK = threading.RLock()


def resolve_device(device: str | torch.device) -> torch.device:
    """Turn a ``device`` parameter into a ``torch.device``.

    Parameters
    ----------
    device : {"cpu", "cuda", "cuda:N", "auto"} or torch.device
        ``"auto"`` picks CUDA when it is available and the CPU otherwise.

    Returns
    -------
    torch.device

    Raises
    ------
    ValueError
        If the string is not a device name, or CUDA is asked for and is not
        available.

    Examples
    --------
    >>> from skbayes._runtime import resolve_device
    >>> resolve_device("cpu")
    device(type='cpu')
    >>> resolve_device("auto").type in ("cpu", "cuda")
    True
    >>> resolve_device("gpu")
    Traceback (most recent call last):
    ...
    ValueError: device must be 'cpu', 'cuda', 'cuda:N' or 'auto', got 'gpu'.
    """
    if isinstance(device, torch.device):
        device = str(device)
    if not isinstance(device, str) or not _DEVICE_PATTERN.match(device):
        raise ValueError(
            f"device must be 'cpu', 'cuda', 'cuda:N' or 'auto', got {device!r}."
        )
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} was requested but CUDA is not available "
                "(torch.cuda.is_available() is False). Use device='cpu' or 'auto'."
            )
        resolved = torch.device(device)
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r} does not exist: CUDA sees "
                f"{torch.cuda.device_count()} device(s)."
            )
        return resolved
    return torch.device("cpu")


def make_seed(random_state) -> int:
    """Derive a torch seed from an sklearn-style ``random_state``.

    ``None`` draws fresh entropy from the operating system instead of from
    numpy's global generator, which it leaves untouched.

    Examples
    --------
    >>> import numpy as np
    >>> from skbayes._runtime import make_seed
    >>> make_seed(0)  # the same on every platform
    2968811710
    >>> isinstance(make_seed(np.random.default_rng(0)), int)
    True
    >>> before = np.random.get_state()[1].copy()
    >>> isinstance(make_seed(None), int)
    True
    >>> np.array_equal(np.random.get_state()[1], before)
    True
    """
    if random_state is None:
        return int(np.random.SeedSequence().generate_state(1)[0])
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(np.iinfo(np.int32).max))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(np.iinfo(np.int32).max))
    if isinstance(random_state, (int, np.integer)):
        # Spread small integers over the seed space, deterministically.
        return int(np.random.SeedSequence(int(random_state)).generate_state(1)[0])
    raise ValueError(
        f"random_state must be None, an int, or a numpy RandomState/Generator; "
        f"got {random_state!r}."
    )


def empty_param_state() -> dict:
    """A fresh, empty Pyro parameter-store state (see ``ParamStoreDict.scope``).

    Examples
    --------
    >>> from skbayes._runtime import empty_param_state
    >>> empty_param_state()
    {'params': {}, 'constraints': {}}
    """
    return {"params": {}, "constraints": {}}


@contextmanager
def isolated_run(
    *,
    seed: int | None,
    device: torch.device,
    param_state: dict | None = None,
    problem_size: int = 0,
) -> Iterator[dict]:
    """Run a block with its own RNG stream, parameter store and thread count.

    Parameters
    ----------
    seed : int or None
        Seed for torch's generators inside the block. The caller's generator
        states are restored on exit whatever happens.
    device : torch.device
        The device whose generator is forked along with the CPU's.
    param_state : dict, optional
        The Pyro parameter-store state to run in; it is updated in place on a
        normal exit. ``None`` starts from an empty store.
    problem_size : int
        Entries of data touched per step; small CPU problems run on one thread.

    Yields
    ------
    dict
        The parameter-store state in use.

    Examples
    --------
    Parameters created inside stay in ``state``, not in Pyro's global store,
    and the caller's RNG is left as it was:

    >>> import pyro
    >>> import torch
    >>> from skbayes._runtime import empty_param_state, isolated_run
    >>> cpu = torch.device("cpu")
    >>> rng_before = torch.get_rng_state()
    >>> state = empty_param_state()
    >>> with isolated_run(seed=0, device=cpu, param_state=state):
    ...     scale = pyro.param("scale", torch.ones(2))
    ...     noise = torch.rand(2)
    >>> sorted(state["params"]), "scale" in pyro.get_param_store()
    (['scale'], False)
    >>> torch.equal(torch.get_rng_state(), rng_before)
    True

    A later run in the same state finds the parameter again, and the same
    seed gives the same draws:

    >>> with isolated_run(seed=0, device=cpu, param_state=state):
    ...     print(pyro.param("scale").tolist(), torch.equal(torch.rand(2), noise))
    [1.0, 1.0] True
    """
    cuda_devices = []
    if device.type == "cuda":
        cuda_devices = [
            device.index if device.index is not None else torch.cuda.current_device()
        ]
    single_thread = device.type == "cpu" and problem_size < SMALL_PROBLEM_SIZE
    with _GLOBAL_STATE_LOCK, torch.random.fork_rng(devices=cuda_devices):
        threads = torch.get_num_threads()
        depth = len(pyro_handler_stack)
        if seed is not None:
            torch.random.default_generator.manual_seed(seed)
            for index in cuda_devices:
                torch.cuda.default_generators[index].manual_seed(seed)
        if single_thread:
            torch.set_num_threads(1)
        try:
            with pyro.get_param_store().scope(param_state) as state:
                yield state
        finally:
            # A KeyboardInterrupt between a handler's push and its ``with``
            # block leaves the handler on Pyro's stack; nothing of this run
            # may stay there.
            del pyro_handler_stack[depth:]
            if single_thread:
                torch.set_num_threads(threads)


def cpu_copy(obj):
    """A deep copy of ``obj`` with every torch tensor in it on the CPU.

    Fitted state must unpickle where there is no GPU, and torch refuses to
    load a CUDA tensor there. Tensors hide in many places a ``.cpu()`` call
    does not reach (the distributions and values of an autoguide's prototype
    trace, the start values its ``init_loc_fn`` closes over), so the copy goes
    through pickle and moves each tensor on the way. Tensors shared between
    parts of ``obj`` stay shared in the copy.

    Examples
    --------
    >>> import torch
    >>> from skbayes._runtime import cpu_copy
    >>> shared = torch.ones(2)
    >>> copy = cpu_copy({"a": shared, "b": [shared, 3]})
    >>> copy["a"] is copy["b"][0], copy["a"] is shared, copy["a"].device.type
    (True, False, 'cpu')
    """
    buffer = io.BytesIO()
    _CpuPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    buffer.seek(0)
    return pickle.load(buffer)


class _CpuPickler(pickle.Pickler):
    def reducer_override(self, obj):
        if isinstance(obj, torch.Tensor) and obj.device.type != "cpu":
            moved = obj.detach().cpu()
            if isinstance(obj, torch.nn.Parameter):
                moved = torch.nn.Parameter(moved, requires_grad=obj.requires_grad)
            # The pickler memoises ``obj``'s id against this reduction, so
            # every other reference to it becomes the same CPU tensor.
            return _same, (moved,)
        return NotImplemented


def _same(obj):
    return obj
