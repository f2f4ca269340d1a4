"""A fitted estimator's state in numpy arrays and Python builtins.

``BayesianEstimator.__getstate__`` hands pickle, and ``skops.io``, the
estimator's attributes with every torch object replaced by a plain
description of it (``portable_state``); ``__setstate__`` rebuilds the torch
objects from those (``restore_state``). skops cannot construct a
``torch.Tensor`` at all, and it should not have to trust Pyro's internals:
what it sees instead is numpy arrays, builtins, and the classes that the
state says to build (the estimator, its model, its guide, its posterior and
prior), each of which the user trusts by name (``trusted_types``).

A description is a ``dict`` with the key ``"__skbayes__"`` naming its kind:

``tensor``
    ``data`` (an ndarray of the same values), ``dtype`` (torch's name),
    ``requires_grad`` and ``parameter`` (an ``nn.Parameter``).
``device``, ``dtype``, ``size``, ``constraint``
    Names: ``"cuda:0"``, ``"float32"``, a list of ints, and the name of one
    of Pyro's constraint objects (``"positive"``) or of a constraint class
    with its arguments (``independent(real, 1)``).
``module``
    A ``torch.nn.Module`` without submodules or hooks (a model, the Beta
    guide): its ``class``, parameters, buffers, Pyro parameters'
    constraints, and its other attributes.
``autoguide``
    A fitted Pyro autoguide of a built-in kind: its ``class``, options and
    parameters. The guide is rebuilt around the restored model and its
    parameters copied in; its prototype trace is rebuilt, not stored.
``object``
    Any other object whose attributes hold torch objects (the closed-form
    posterior of the linear model): its ``class`` and described attributes.
``dict``
    A dict that itself has the key ``"__skbayes__"``.

Anything else is stored as it is (a guide given as a function, by name).
Attributes that cannot be described (an autoguide of another class, a model
with submodules) are left as they are: pickle still stores them, skops
cannot.
"""

from __future__ import annotations

import functools
import inspect
import types
from collections import OrderedDict

import numpy as np
import torch
from pyro.distributions import constraints
from pyro.infer import autoguide
from pyro.nn import PyroModule, PyroParam
from torch.distributions import transform_to

from ._compat import guide_param_constraints

MARK = "__skbayes__"

#: Autoguides rebuilt from their class, options and parameters: those
#: ``guide=`` names (``skbayes.inference.guides.GUIDES``), and the full-rank
#: Gaussian that ``"laplace"`` leaves after the fit.
PORTABLE_AUTOGUIDES = (
    autoguide.AutoNormal,
    autoguide.AutoDiagonalNormal,
    autoguide.AutoMultivariateNormal,
    autoguide.AutoLowRankMultivariateNormal,
    autoguide.AutoDelta,
)

_SCALARS = (type(None), bool, int, float, complex, str, bytes, np.ndarray, np.generic)
# Stored by reference (skops: by name); classes, functions and the like.
_REFERENCES = (
    type,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    functools.partial,
)


class NotPortable(TypeError):
    """A value that has no description in numpy arrays and builtins."""


# -- the state as a whole --------------------------------------------------------
def portable_state(state: dict) -> dict:
    """``state`` (an estimator's ``__dict__``) with torch objects described.

    An attribute that cannot be described is kept as it is (an autoguide of
    another class in the ``PicklableGuide`` wrapper pickle needs).
    """
    memo: dict = {}
    out = {}
    for name, value in state.items():
        try:
            out[name] = _encode(value, memo)
        except NotPortable:
            if isinstance(value, autoguide.AutoGuide):
                from .inference.guides import PicklableGuide

                value = PicklableGuide(value)
            out[name] = value
    return out


def restore_state(state: dict) -> dict:
    """The inverse of ``portable_state``; other values pass through unchanged.

    The model (``module_``) is rebuilt first: an autoguide is rebuilt around it.
    """
    memo: dict = {}
    model = _decode(state.get("module_"), memo, None)
    return {name: _decode(value, memo, model) for name, value in state.items()}


# -- describing ------------------------------------------------------------------
def _encode(value, memo: dict):
    key = id(value)
    if key in memo:
        return memo[key][0]
    out = _encode_new(value, memo)
    # The value is kept with its description, so that its id is not reused.
    memo[key] = (out, value)
    return out


def _encode_new(value, memo):
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, torch.Tensor):
        return _encode_tensor(value)
    if isinstance(value, torch.device):
        return {MARK: "device", "name": str(value)}
    if isinstance(value, torch.dtype):
        return {MARK: "dtype", "name": str(value).removeprefix("torch.")}
    if isinstance(value, torch.Size):
        return {MARK: "size", "shape": [int(n) for n in value]}
    if isinstance(value, constraints.Constraint):
        return _encode_constraint(value, memo)
    if isinstance(value, autoguide.AutoGuide):
        return _encode_autoguide(value, memo)
    if isinstance(value, torch.nn.Module):
        return _encode_module(value, memo)
    if type(value) in (dict, OrderedDict):
        items = {k: _encode(v, memo) for k, v in value.items()}
        if type(value) is dict and MARK in value:
            return {MARK: "dict", "items": [[k, v] for k, v in items.items()]}
        if all(items[k] is v for k, v in value.items()):
            return value
        return type(value)(items)
    if type(value) in (list, tuple, set, frozenset):
        items = [_encode(v, memo) for v in value]
        if all(new is old for new, old in zip(items, value, strict=True)):
            return value
        return type(value)(items)
    if isinstance(value, _REFERENCES):
        return value
    return _encode_object(value, memo)


def _encode_tensor(value: torch.Tensor) -> dict:
    if value.layout != torch.strided or value.is_quantized:
        raise NotPortable(f"a {value.layout} tensor has no numpy form.")
    tensor = value.detach().cpu().resolve_conj().resolve_neg()
    if tensor.dtype == torch.bfloat16:
        tensor = tensor.float()  # exact: every bfloat16 is a float32
    try:
        data = np.array(tensor.numpy(), copy=True)
    except (TypeError, RuntimeError) as error:
        raise NotPortable(f"a {value.dtype} tensor has no numpy form.") from error
    return {
        MARK: "tensor",
        "data": data,
        "dtype": str(value.dtype).removeprefix("torch."),
        "requires_grad": bool(value.requires_grad),
        "parameter": isinstance(value, torch.nn.Parameter),
    }


def _public_constraints() -> list[str]:
    return sorted(n for n in dir(constraints) if not n.startswith("_"))


def _encode_constraint(value, memo) -> dict:
    """A constraint by its name in ``pyro.distributions.constraints``.

    A copy counts as the original (the fitted parameter store is a deep
    copy): same class, same attributes. Other constraints are described by
    their class's public name and arguments (``independent(real, 1)``).
    """
    names = _public_constraints()
    for name in names:
        if getattr(constraints, name) is value:
            return {MARK: "constraint", "name": name}
    for name in names:
        named = getattr(constraints, name)
        if type(named) is type(value) and _same_attributes(named, value):
            return {MARK: "constraint", "name": name}
    cls = type(value)
    factory = next((n for n in names if getattr(constraints, n) is cls), None)
    parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    if factory is None or any(
        p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or not hasattr(value, p.name)
        for p in parameters
    ):
        raise NotPortable(f"{value!r} is not one of Pyro's named constraints.")
    arguments = {p.name: getattr(value, p.name) for p in parameters}
    try:
        rebuilt = cls(**arguments)
    except Exception:  # any failure: not rebuilt this way
        rebuilt = None
    if rebuilt is None or not _same_attributes(rebuilt, value):
        raise NotPortable(f"{value!r} is not rebuilt from its arguments.")
    return {
        MARK: "constraint",
        "factory": factory,
        "arguments": {k: _encode(v, memo) for k, v in arguments.items()},
    }


def _decode_constraint(value: dict, memo, model):
    if "name" in value:
        constraint = getattr(constraints, str(value["name"]), None)
        if isinstance(constraint, constraints.Constraint):
            return constraint
        raise ValueError(f"Unknown constraint {value['name']!r}.")
    factory = str(value["factory"])
    cls = getattr(constraints, factory, None)
    if (
        factory.startswith("_")
        or not isinstance(cls, type)
        or not issubclass(cls, constraints.Constraint)
    ):
        raise ValueError(f"Unknown constraint class {factory!r}.")
    return cls(**{k: _decode(v, memo, model) for k, v in value["arguments"].items()})


def _same_attributes(a, b) -> bool:
    first, second = vars(a), vars(b)
    if first.keys() != second.keys():
        return False
    for key, value in first.items():
        other = second[key]
        if isinstance(value, torch.Tensor) or isinstance(other, torch.Tensor):
            same = (
                isinstance(value, torch.Tensor)
                and isinstance(other, torch.Tensor)
                and torch.equal(value, other)
            )
        else:
            try:
                same = type(value) is type(other) and bool(value == other)
            except (TypeError, ValueError):  # no single truth value
                same = False
        if not same:
            return False
    return True


def _module_internals(module) -> set:
    """Attributes that torch (and Pyro) give every module: not the module's own."""
    template = PyroModule() if isinstance(module, PyroModule) else torch.nn.Module()
    return set(vars(template))


def _encode_module(module: torch.nn.Module, memo) -> dict:
    name = type(module).__name__
    if next(module.children(), None) is not None:
        raise NotPortable(f"{name} has submodules.")
    internals = _module_internals(module)
    state = vars(module)
    if any(
        "hook" in key and state[key] for key in internals if key in state
    ) or state.get("_pyro_samples"):
        raise NotPortable(f"{name} has hooks or PyroSample attributes.")
    persistent = set(module.state_dict(keep_vars=True))
    return {
        MARK: "module",
        "class": type(module),
        "pyro_name": state.get("_pyro_name"),
        "training": bool(module.training),
        "parameters": {
            k: _encode(v, memo) for k, v in module.named_parameters(recurse=False)
        },
        "buffers": {
            k: _encode(v, memo) for k, v in module.named_buffers(recurse=False)
        },
        "non_persistent_buffers": sorted(
            k for k, _ in module.named_buffers(recurse=False) if k not in persistent
        ),
        "pyro_params": [
            [k, _encode(constraint, memo), event_dim]
            for k, (constraint, event_dim) in guide_param_constraints(module).items()
        ],
        "attributes": {
            k: _encode(v, memo) for k, v in state.items() if k not in internals
        },
    }


def _encode_autoguide(guide: autoguide.AutoGuide, memo) -> dict:
    if type(guide) not in PORTABLE_AUTOGUIDES:
        raise NotPortable(f"{type(guide).__name__} is not a built-in autoguide.")
    if getattr(guide, "create_plates", None) is not None:
        raise NotPortable("an autoguide with create_plates is not stored portably.")
    options = {}
    if isinstance(guide, autoguide.AutoLowRankMultivariateNormal):
        options["rank"] = int(guide.rank)
    return {
        MARK: "autoguide",
        "class": type(guide),
        "options": options,
        "parameters": {k: _encode(v, memo) for k, v in guide.named_parameters()},
        "buffers": {k: _encode(v, memo) for k, v in guide.named_buffers()},
    }


def _encode_object(value, memo):
    """A plain object: as it is when nothing in it changes, else described."""
    cls = type(value)
    if cls.__module__.split(".")[0] in ("torch", "pyro"):
        # Distributions, traces, generators...: not skops' to trust.
        raise NotPortable(f"{cls.__module__}.{cls.__qualname__} is not described.")
    attributes = getattr(value, "__dict__", None)
    if not isinstance(attributes, dict):
        return value
    encoded = {k: _encode(v, memo) for k, v in attributes.items()}
    if all(encoded[k] is v for k, v in attributes.items()):
        return value
    custom = any(
        getattr(cls, method, None) is not getattr(object, method, None)
        for method in ("__reduce__", "__reduce_ex__", "__setstate__")
    )
    if custom or hasattr(cls, "__slots__"):
        raise NotPortable(f"{cls.__qualname__} has its own pickling methods.")
    return {MARK: "object", "class": cls, "attributes": encoded}


# -- rebuilding ------------------------------------------------------------------
def _decode(value, memo: dict, model):
    kind = type(value)
    if kind is dict and MARK in value:
        key = id(value)
        if key not in memo:
            memo[key] = (_decode_description(value, memo, model), value)
        return memo[key][0]
    if kind in (dict, OrderedDict):
        items = {k: _decode(v, memo, model) for k, v in value.items()}
        if all(items[k] is v for k, v in value.items()):
            return value
        return kind(items)
    if kind in (list, tuple, set, frozenset):
        items = [_decode(v, memo, model) for v in value]
        if all(new is old for new, old in zip(items, value, strict=True)):
            return value
        return kind(items)
    return value


def _decode_description(value: dict, memo, model):
    kind = value[MARK]
    if kind == "tensor":
        return _decode_tensor(value)
    if kind == "device":
        return torch.device(value["name"])
    if kind == "dtype":
        return _torch_dtype(value["name"])
    if kind == "size":
        return torch.Size(int(n) for n in value["shape"])
    if kind == "constraint":
        return _decode_constraint(value, memo, model)
    if kind == "dict":
        return {k: _decode(v, memo, model) for k, v in value["items"]}
    if kind == "module":
        return _decode_module(value, memo, model)
    if kind == "autoguide":
        return _decode_autoguide(value, memo, model)
    if kind == "object":
        cls = value["class"]
        if not isinstance(cls, type):
            raise ValueError(f"{cls!r} is not a class.")
        obj = cls.__new__(cls)
        obj.__dict__.update(
            {k: _decode(v, memo, model) for k, v in value["attributes"].items()}
        )
        return obj
    raise ValueError(f"Unknown kind of stored value {kind!r}.")


def _torch_dtype(name) -> torch.dtype:
    dtype = getattr(torch, str(name), None)
    if not isinstance(dtype, torch.dtype):
        raise ValueError(f"Unknown torch dtype {name!r}.")
    return dtype


def _decode_tensor(value: dict) -> torch.Tensor:
    # A copy: the tensor owns writable memory whatever the loader gave.
    tensor = torch.from_numpy(np.array(value["data"], copy=True))
    tensor = tensor.to(_torch_dtype(value["dtype"]))
    if value["parameter"]:
        return torch.nn.Parameter(tensor, requires_grad=bool(value["requires_grad"]))
    if value["requires_grad"]:
        tensor.requires_grad_(True)
    return tensor


def _decode_module(value: dict, memo, model) -> torch.nn.Module:
    cls = value["class"]
    if not (isinstance(cls, type) and issubclass(cls, torch.nn.Module)):
        raise ValueError(f"{cls!r} is not a torch module class.")
    module = cls.__new__(cls)
    if issubclass(cls, PyroModule):
        PyroModule.__init__(module, name=value["pyro_name"] or "")
    else:
        torch.nn.Module.__init__(module)
    module.__dict__.update(
        {k: _decode(v, memo, model) for k, v in value["attributes"].items()}
    )
    for name, constraint, event_dim in value["pyro_params"]:
        constraint = _decode(constraint, memo, model)
        unconstrained = _decode(
            value["parameters"][f"{name}_unconstrained"], memo, model
        )
        # Registers the constraint; the exact unconstrained tensor replaces the
        # round trip through it just below.
        start = transform_to(constraint)(unconstrained.detach())
        setattr(module, name, PyroParam(start, constraint, event_dim))
    for name, parameter in value["parameters"].items():
        module.register_parameter(name, _decode(parameter, memo, model))
    for name, buffer in value["buffers"].items():
        persistent = name not in value["non_persistent_buffers"]
        module.register_buffer(name, _decode(buffer, memo, model), persistent)
    module.train(bool(value["training"]))
    return module


def _decode_autoguide(value: dict, memo, model) -> autoguide.AutoGuide:
    from ._runtime import empty_param_state, isolated_run
    from .inference.guides import strip_data

    cls = value["class"]
    if cls not in PORTABLE_AUTOGUIDES:
        raise ValueError(f"{cls!r} is not an autoguide skbayes rebuilds.")
    if model is None:
        raise ValueError("An autoguide is rebuilt around its model (module_).")
    parameters = {k: _decode(v, memo, model) for k, v in value["parameters"].items()}
    buffers = {k: _decode(v, memo, model) for k, v in value["buffers"].items()}
    # A throwaway seed and parameter store: the run that sets the guide up
    # draws its starting values, which the stored parameters then replace.
    with (
        isolated_run(
            seed=0, device=torch.device("cpu"), param_state=empty_param_state()
        ),
        torch.no_grad(),
    ):
        # The one option that shapes the parameters; nothing else is passed.
        options = {k: int(v) for k, v in value["options"].items() if k == "rank"}
        guide = cls(model, **options)
        # One row of zeros: the model's likelihood may divide by the rows.
        guide(*(t.new_zeros((1, *t.shape[1:])) for t in model.placeholder_data()))
        strip_data(guide)
        own_buffers = dict(guide.named_buffers())
        for name, buffer in buffers.items():
            if name not in own_buffers:
                # ``laplace_approximation`` turns the Gaussian's parameters
                # into buffers; the rebuilt guide does the same.
                delattr(guide, name)
                guide.register_buffer(name, buffer)
    missing, unexpected = guide.load_state_dict({**parameters, **buffers}, strict=False)
    if missing or unexpected:
        raise ValueError(
            f"The stored {cls.__name__} does not fit its model: missing "
            f"{sorted(missing)}, unexpected {sorted(unexpected)}."
        )
    return guide


# -- what skops must be told to trust ----------------------------------------------
def trusted_types() -> list[str]:
    """The types a saved skbayes estimator may hold, for ``skops.io.load``.

    Every built-in estimator, fitted with any built-in engine, guide name and
    prior, stores objects of these types only (besides numpy arrays and
    builtins, which skops trusts by default). A prior, guide or model class
    written outside skbayes adds its own; ``skops.io.get_untrusted_types``
    lists what a file holds.

    Returns
    -------
    list of str
        Sorted ``"module.Class"`` names, as ``skops.io.load(..., trusted=)``
        takes them.

    Examples
    --------
    >>> import skbayes
    >>> "skbayes.posterior.FittedPosterior" in skbayes.trusted_types()
    True
    """
    from . import estimators, models, posterior, priors
    from .inference import BetaGuide
    from .models.beta_bernoulli import BetaPosterior
    from .models.conjugate import NormalLinearPosterior, NormalMarginal
    from .models.intercept import InterceptEvidence

    classes = [
        *(getattr(estimators, name) for name in estimators.__all__),
        models.BetaBernoulliModel,
        models.LinearRegressionModel,
        models.LogisticRegressionModel,
        BetaPosterior,
        NormalLinearPosterior,
        NormalMarginal,
        InterceptEvidence,
        posterior.FittedPosterior,
        BetaGuide,
        *PORTABLE_AUTOGUIDES,
        *priors.COEF_PRIORS.values(),
        *priors.NOISE_PRIORS.values(),
        priors.GaussianForm,
        priors.Beta,
    ]
    return sorted({f"{cls.__module__}.{cls.__qualname__}" for cls in classes})
