"""The base every model adapter follows: one contract, as scikit-learn's estimators have.

- ``__init__`` only stores its arguments; :meth:`get_params` / :meth:`set_params` /
  ``sklearn.base.clone`` work (inherited from ``BaseEstimator``); ``clone`` is unfitted.
- ``fit(dataset)`` trains from scratch and returns ``self``; learned state ends in ``_``.
- ``provides`` declares, in one place, the output kinds (names from :mod:`labelwise.outputs`)
  the model can compute; ``outputs/`` reads this instead of probing method names.
- ``save(folder) -> Path`` writes one layout: ``params.json`` (class, parameters, small
  learned state) beside the weights (``model.safetensors``, or a Hugging Face
  ``save_pretrained`` folder, which is safetensors too). Torch weights are never pickled.
- ``Model.load(folder)`` (a classmethod; ``instance.load(folder)`` also works and takes
  the instance's parameters that could not be written to JSON, such as a user's
  ``tokenize`` function) returns a NEW fitted model.
- ``random_state``: None = fresh entropy on every fit, an int = the same model every time,
  a ``numpy.random.Generator`` = a seed drawn from it. No global generator is changed:
  where a library draws from the global torch generator (weight initialisation inside
  ``transformers``), :func:`seeded` forks it and restores it afterwards.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator

from labelwise._io import atomic_write_text
from labelwise.errors import ConfigError, DataError, NotFittedError

PARAMS_FILE = "params.json"
WEIGHTS_FILE = "model.safetensors"
FORMAT_VERSION = 1


def resolve_seed(random_state: Any) -> int:
    """A 31-bit int seed: the int itself, one drawn from a Generator, or fresh entropy for None."""
    if random_state is None:
        return int(np.random.default_rng().integers(0, 2**31 - 1))
    if isinstance(random_state, (bool, np.bool_)):
        raise ConfigError(f"random_state must be an int, a numpy.random.Generator or None, got {random_state!r}.")
    if isinstance(random_state, (int, np.integer)):
        return int(random_state) % (2**31 - 1) if int(random_state) < 0 else int(random_state)
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2**31 - 1))
    raise ConfigError(
        f"random_state must be an int, a numpy.random.Generator or None, got {type(random_state).__name__}. "
        "Fix: pass random_state=0 (reproducible) or None (fresh entropy)."
    )


@contextlib.contextmanager
def seeded(seed: int, device: Any = None) -> Iterator[Any]:
    """Seed Python's, NumPy's and torch's global generators for the block and restore them
    afterwards (for library code that draws from them, e.g. new layers' initialisation in
    ``transformers``). Yields a local ``torch.Generator`` seeded with ``seed``."""
    import torch

    python_state = random.getstate()
    numpy_state = np.random.get_state()  # noqa: NPY002 - saved to be restored, never used
    devices = []
    if device is not None and getattr(device, "type", str(device)).startswith("cuda") and torch.cuda.is_available():
        devices = [torch.device(device).index or 0]
    with torch.random.fork_rng(devices=devices):
        random.seed(seed)
        np.random.seed(seed % (2**32))  # noqa: NPY002 - third-party code on the legacy RNG; restored below
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        try:
            yield generator
        finally:
            random.setstate(python_state)
            np.random.set_state(numpy_state)  # noqa: NPY002


class _Load:
    """``Model.load(folder)`` and ``model.load(folder)``: both return a new fitted model;
    called on an instance, its parameters fill in what ``params.json`` could not hold."""

    def __get__(self, instance: Any, owner: type) -> Any:
        def load(folder: str | os.PathLike, **params: Any) -> Any:
            return owner._load_folder(Path(folder), template=instance, overrides=params)

        load.__doc__ = owner._load_folder.__doc__
        return load


class LabelwiseModel(BaseEstimator):
    """Base class of every labelwise model adapter (see the module docstring)."""

    #: output kinds this model computes (``labelwise.outputs`` reads this, not method names)
    provides: ClassVar[tuple[str, ...]] = ()
    #: output kinds one forward pass yields together (``joint_outputs``)
    joint_output_kinds: ClassVar[tuple[str, ...]] = ()

    load = _Load()

    # ---- fitted state ------------------------------------------------------------------
    @property
    def is_fitted(self) -> bool:
        return hasattr(self, "module_")

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit() (or load()) first.")

    def _seed(self) -> int:
        """The seed of one fit (fresh entropy when ``random_state`` is None)."""
        return resolve_seed(getattr(self, "random_state", None))

    # ---- persistence -------------------------------------------------------------------
    def save(self, folder: str | os.PathLike) -> Path:
        """Write ``params.json`` and the weights to ``folder`` (created); returns the folder."""
        self._check_fitted()
        folder = Path(folder)
        if folder.exists() and not folder.is_dir():
            raise ConfigError(f"{str(folder)!r} is a file; save() needs a folder path.")
        folder.mkdir(parents=True, exist_ok=True)
        self._save_weights(folder)
        record = {"class": f"{type(self).__module__}:{type(self).__qualname__}", "format": FORMAT_VERSION,
                  "params": _json_params(self.get_params(deep=False)), "state": self._fitted_state()}
        atomic_write_text(folder / PARAMS_FILE, json.dumps(record, indent=2))
        return folder

    @classmethod
    def _load_folder(cls, folder: Path, template: Any = None, overrides: dict[str, Any] | None = None) -> Any:
        """A new fitted model from a folder written by :meth:`save`."""
        path = folder / PARAMS_FILE
        if not path.is_file():
            raise DataError(f"no {PARAMS_FILE} here: not a folder written by {cls.__name__}.save().",
                            path=str(folder), fix="pass the folder given to save().")
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            saved_class, params, state = record["class"], record["params"], record["state"]
        except (ValueError, KeyError, TypeError) as error:
            raise DataError(f"{PARAMS_FILE} is corrupt ({error}).", path=str(path),
                            fix="save the model again.") from error
        if saved_class.rsplit(":", 1)[-1] != cls.__qualname__:
            raise DataError(f"this folder holds a {saved_class}, not a {cls.__name__}.", path=str(path),
                            fix=f"load it with {saved_class.rsplit(':', 1)[-1]}.load().")
        accepted = set(inspect.signature(cls.__init__).parameters) - {"self"}
        values = {key: _from_json(value) for key, value in params.items() if key in accepted}
        if template is not None:
            for key, value in template.get_params(deep=False).items():
                if key not in values or values[key] is _UNSAVED:
                    values[key] = value
        values.update(overrides or {})
        missing = [key for key, value in values.items() if value is _UNSAVED]
        if missing:
            raise ConfigError(f"{cls.__name__}.load(): {missing} could not be saved (not importable); pass them: "
                              f"{cls.__name__}.load(folder, {', '.join(f'{m}=...' for m in missing)}).")
        model = cls(**values)
        model._restore(folder, state)
        return model

    # ---- what subclasses provide ---------------------------------------------------------
    def _save_weights(self, folder: Path) -> None:
        """Write the learned weights into ``folder``."""

    def _fitted_state(self) -> dict[str, Any]:
        """Small JSON-able learned state (label names, vocabulary ...)."""
        return {}

    def _restore(self, folder: Path, state: dict[str, Any]) -> None:
        """Rebuild the fitted state from ``folder`` and :meth:`_fitted_state`'s dict."""
        raise NotImplementedError


# ---- torch weights as safetensors ---------------------------------------------------------
def save_state_dict(module: Any, path: Path) -> None:
    """The module's ``state_dict`` as safetensors (shared tensors are stored once)."""
    from safetensors.torch import save_file

    state = {}
    seen: dict[tuple[int, int], str] = {}
    aliases = {}
    for name, tensor in module.state_dict().items():
        key = (tensor.data_ptr(), tensor.numel())
        if tensor.numel() and key in seen:
            aliases[name] = seen[key]
            continue
        seen[key] = name
        state[name] = tensor.detach().cpu().contiguous()
    save_file(state, str(path), metadata={"aliases": json.dumps(aliases)})


def load_state_dict(path: Path, module: Any) -> Any:
    """Fill ``module`` from :func:`save_state_dict`'s file (or, for folders written before
    this format, a ``torch.save`` file read with ``weights_only=True``: no code runs)."""
    if not path.is_file():
        raise DataError("the model's weights file is missing.", path=str(path),
                        fix="pass the folder given to save(); save the model again if it is incomplete.")
    try:
        state = _read_state_dict(path)
        module.load_state_dict(state)
    except Exception as error:  # noqa: BLE001 - SafetensorError, RuntimeError (shapes), OSError: all damage
        if isinstance(error, DataError):
            raise
        raise DataError(f"the model's weights cannot be read ({type(error).__name__}: {error}).", path=str(path),
                        fix="save the model again; the file is damaged or belongs to another configuration.") from None
    return module


def _read_state_dict(path: Path) -> dict[str, Any]:
    import torch

    if path.suffix == ".safetensors":
        from safetensors import safe_open
        from safetensors.torch import load_file

        state = load_file(str(path))
        with safe_open(str(path), framework="pt") as handle:
            aliases = json.loads((handle.metadata() or {}).get("aliases", "{}"))
        for name, source in aliases.items():
            state[name] = state[source]
    else:
        state = torch.load(path, map_location="cpu", weights_only=True)
    return state


# ---- parameters as JSON ---------------------------------------------------------------------
class _Unsaved:
    def __repr__(self) -> str:
        return "<unsaved>"


_UNSAVED = _Unsaved()


def _json_params(params: dict[str, Any]) -> dict[str, Any]:
    """JSON for each parameter; a value JSON cannot hold (a function, a class) is recorded
    by name only (``{"unsaved": "module:name"}``) and never imported back: load() takes it
    from the instance it is called on, or as a keyword."""
    result = {}
    for key, value in params.items():
        if isinstance(value, os.PathLike):
            value = os.fspath(value)
        if isinstance(value, tuple):
            value = list(value)
        try:
            json.dumps(value)
            result[key] = value
        except (TypeError, ValueError):
            name = f"{getattr(value, '__module__', '?')}:{getattr(value, '__qualname__', type(value).__name__)}"
            result[key] = {"unsaved": name}
    return result


def _from_json(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"unsaved"}:
        return _UNSAVED
    return value


def load_model(folder: str | os.PathLike, template: Any = None) -> Any:
    """A fitted model from a folder written by ``save``. Its class is read from
    ``params.json`` and must be one of labelwise's own models (nothing else is imported);
    for your own class call ``YourClass.load(folder)`` or pass ``template``."""
    if template is not None:
        return template.load(folder)
    from labelwise import models

    path = Path(folder) / PARAMS_FILE
    try:
        name = json.loads(path.read_text(encoding="utf-8"))["class"].rsplit(":", 1)[-1]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise DataError(f"cannot read the model's class ({type(error).__name__}: {error}).", path=str(path),
                        fix="pass the folder given to save(), or pass model= to load it into.") from error
    if name not in models.__all__ or name in ("LabelwiseModel", "is_fitted", "load_model"):
        raise DataError(f"{name!r} is not a labelwise model.", path=str(path),
                        fix=f"load it with {name}.load(folder) (or pass model=).")
    return getattr(models, name).load(folder)
