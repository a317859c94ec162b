"""One registry for every kind of named component (strategies, subsamplers, models, ...).

Layer 0: importable from every layer, imports nothing of labelwise but :mod:`labelwise.errors`.

A :class:`Registry` maps a name (and its aliases) to a class, or lazily to ``"module:attr"``
so that naming a torch model does not import torch until the model is asked for. Names are
normalised (case, ``-`` or space vs ``_``); an unknown name raises a
:class:`~labelwise.errors.ConfigError` that names the kind, suggests the closest names and
lists the available ones. Besides registered names, every registry accepts a user's own class
as ``path/to/file.py:ClassName`` or ``package.module:ClassName`` (:func:`load_object`).
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import importlib.util
import inspect
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from labelwise.errors import ConfigError

_MODULE_PATH = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
_INSTALL_HINT = "install the extra it needs (pip install 'labelwise[all]') or choose another"


def normalise(name: str) -> str:
    """The lookup key of ``name``: lower case, ``-`` and spaces as ``_``."""
    return name.strip().lower().replace("-", "_").replace(" ", "_")


def is_file_spec(name: str) -> bool:
    """``path/to/file.py:ClassName``?"""
    head, sep, tail = name.rpartition(":")
    return bool(sep and tail) and Path(head).suffix == ".py"


def is_module_spec(name: str) -> bool:
    """``package.module:ClassName``?"""
    head, sep, tail = name.rpartition(":")
    return bool(sep) and bool(_MODULE_PATH.match(head)) and tail.isidentifier()


def is_spec(name: str) -> bool:
    """A loadable ``file.py:Class`` or ``package.module:Class`` rather than a registry name."""
    return is_file_spec(name) or is_module_spec(name)


def suggest(word: str, choices: list[str]) -> str:
    """The one did-you-mean: `` Did you mean 'a', 'b'?`` for the closest ``choices``, or ``""``."""
    close = difflib.get_close_matches(word, choices, n=3, cutoff=0.5)
    return f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""


_suggest = suggest


def _attribute(module: Any, attribute: str, spec: str, where: str) -> Any:
    if not hasattr(module, attribute):
        defined = sorted(n for n in vars(module) if not n.startswith("_"))
        raise ConfigError(f"{spec!r}: {where} has no {attribute!r}.{_suggest(attribute, defined)} "
                          f"It defines {defined}.")
    return getattr(module, attribute)


def _load_file(spec: str) -> Any:
    file_part, _, attribute = spec.rpartition(":")
    path = Path(file_part).expanduser()
    if not path.is_file():
        raise ConfigError(f"{spec!r}: file {str(path)!r} not found. Fix the path (relative paths are "
                          f"resolved from {str(Path.cwd())!r}).")
    resolved = str(path.resolve())
    module_name = "labelwise_user_" + hashlib.sha1(resolved.encode()).hexdigest()[:16]
    module = sys.modules.get(module_name)
    if module is None:
        loader_spec = importlib.util.spec_from_file_location(module_name, path)
        if loader_spec is None or loader_spec.loader is None:
            raise ConfigError(f"{spec!r}: cannot import {str(path)!r} as Python.")
        module = importlib.util.module_from_spec(loader_spec)
        sys.modules[module_name] = module
        try:
            loader_spec.loader.exec_module(module)
        except SyntaxError as error:
            del sys.modules[module_name]
            raise ConfigError(f"{spec!r}: {error.filename or str(path)}, line {error.lineno}: syntax error "
                              f"({error.msg}). Fix the file.") from None
        except Exception as error:
            del sys.modules[module_name]
            raise ConfigError(f"{spec!r}: running {str(path)!r} failed ({type(error).__name__}: {error}). "
                              "Fix the file.") from error
    return _attribute(module, attribute, spec, repr(str(path)))


def _load_module(spec: str, *, what: str) -> Any:
    module_name, _, attribute = spec.rpartition(":")
    try:
        found = importlib.util.find_spec(module_name)
    except (ImportError, ValueError):
        found = None
    if found is None:
        raise ConfigError(f"{what} needs module {module_name}, which is not part of this installation "
                          f"(not merged yet, or an optional extra is missing): {_INSTALL_HINT}.")
    try:
        module = importlib.import_module(module_name)
    except SyntaxError as error:
        raise ConfigError(f"{what}: {error.filename}, line {error.lineno}: syntax error ({error.msg}).") from None
    except ImportError as error:
        raise ConfigError(f"{what}: importing {module_name} failed ({error}): {_INSTALL_HINT}.") from None
    return _attribute(module, attribute, spec, f"module {module_name}")


def load_object(spec: str) -> Any:
    """The object named by ``path/to/file.py:ClassName`` or ``package.module:ClassName``.

    Loading a file **runs its code** (as importing a module does): only name files you trust.
    The file becomes a module of its own, imported once per process. A missing file, a missing
    class, a syntax error or an exception while the file runs raise a
    :class:`~labelwise.errors.ConfigError` that names the file (and line).
    """
    if is_file_spec(spec):
        return _load_file(spec)
    if is_module_spec(spec):
        return _load_module(spec, what=repr(spec))
    raise ConfigError(f"{spec!r} is neither 'path/to/file.py:ClassName' nor 'package.module:ClassName'.")


def check_parameters(cls: Any, params: Mapping[str, Any], *, field: str, complete: bool = False) -> None:
    """Raise a :class:`ConfigError` naming ``field.<key>`` when ``params`` holds a keyword
    ``cls`` does not accept (with the closest ones); with ``complete``, also when a required
    argument is missing."""
    try:
        parameters = list(inspect.signature(cls).parameters.values())
    except (TypeError, ValueError):
        return
    keywords = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    accepted = sorted(p.name for p in parameters if p.kind in keywords)
    name = getattr(cls, "__name__", repr(cls))
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        for key in params:
            if key not in accepted:
                raise ConfigError(f"{field}.{key}: {name} takes no parameter {key!r}."
                                  f"{_suggest(key, accepted)} It accepts {accepted}.")
    if complete:
        missing = [p.name for p in parameters
                   if p.kind in keywords and p.default is inspect.Parameter.empty and p.name not in params]
        if missing:
            raise ConfigError(f"{field}: {name} needs the parameter(s) {missing}; give them.")


@dataclass(frozen=True)
class Entry:
    """One registered component: ``target`` is the object, or ``"module:attr"`` until first use.

    ``defaults`` are keyword arguments merged under the caller's; ``metadata`` is free-form
    information read without importing the target (e.g. the ``tasks`` a model serves).
    """

    name: str
    target: Any
    aliases: tuple[str, ...] = ()
    defaults: Mapping[str, Any] = field(default_factory=dict)
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def lazy(self) -> bool:
        return isinstance(self.target, str)


class Registry:
    """Named components of one ``kind`` ("strategy", "subsampler", "model", ...).

    >>> models = Registry("model")
    >>> models.register("tfidf_lr", "tfidf", target="labelwise.models:TfidfLogisticRegression")
    >>> models.get("TFIDF-LR", C=2.0)            # imports the module only now
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry] = {}
        self._aliases: dict[str, str] = {}
        self._loaded: dict[str, Any] = {}

    # registration -------------------------------------------------------------------------
    def register(self, name: str, *aliases: str, target: Any = None, replace: bool = False,
                 defaults: Mapping[str, Any] | None = None, **metadata: Any) -> Any:
        """Register ``target`` (an object, or ``"module:attr"`` imported on first use) under
        ``name`` and ``aliases``; without ``target``, a decorator. A name taken by another
        target raises :class:`ConfigError` unless ``replace``."""
        if target is None:
            def decorate(obj: Any) -> Any:
                self.register(name, *aliases, target=obj, replace=replace, defaults=defaults, **metadata)
                return obj

            return decorate
        if isinstance(target, str) and not is_module_spec(target):
            raise ConfigError(f"{self.kind} {name!r}: a lazy target is 'package.module:attr', not {target!r}.")
        key = normalise(name)
        keys = tuple(dict.fromkeys(normalise(a) for a in aliases if normalise(a) != key))
        old = self._entries.get(key)
        if old is not None and not _same(old.target, target) and not replace:
            raise ConfigError(f"{self.kind} name {name!r} is already taken by {_describe(old.target)}.")
        if key in self._aliases and not replace:
            raise ConfigError(f"{self.kind} name {name!r} is already an alias of {self._aliases[key]!r}.")
        for alias in keys:
            if alias in self._entries:
                raise ConfigError(f"{self.kind} alias {alias!r} of {key!r} is the name of another {self.kind}.")
            owner = self._aliases.get(alias)
            if owner not in (None, key) and not replace:
                raise ConfigError(f"{self.kind} alias {alias!r} of {key!r} already names {owner!r}.")
        if old is not None:
            self.unregister(key)
        self._aliases.pop(key, None)
        self._entries[key] = Entry(key, target, keys, MappingProxyType(dict(defaults or {})),
                                   MappingProxyType(dict(metadata)))
        for alias in keys:
            self._aliases[alias] = key
        return target

    def unregister(self, name: str) -> None:
        """Remove ``name`` and its aliases (tests, or replacing a component)."""
        entry = self._entries.pop(self.canonical(name))
        self._loaded.pop(entry.name, None)
        for alias in entry.aliases:
            self._aliases.pop(alias, None)

    # lookup -------------------------------------------------------------------------------
    def names(self, **metadata: Any) -> list[str]:
        """The registered names (not aliases), sorted; ``names(tasks="tagging")`` keeps those
        whose metadata holds (or contains) each given value."""
        return sorted(n for n, e in self._entries.items() if _matches(e, metadata))

    @property
    def aliases(self) -> dict[str, str]:
        """alias -> registered name."""
        return dict(self._aliases)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and normalise(name) in self._entries.keys() | self._aliases.keys()

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)

    def canonical(self, name: str) -> str:
        """The registered name behind ``name`` (any case, ``-`` or ``_``, or an alias)."""
        if not isinstance(name, str):
            raise ConfigError(f"a {self.kind} name must be a string, got {type(name).__name__} {name!r}.")
        key = normalise(name)
        key = self._aliases.get(key, key)
        if key not in self._entries:
            raise self.unknown(name)
        return key

    def unknown(self, name: str) -> ConfigError:
        """The error for an unknown ``name``: the kind, the closest names, every available name."""
        hint = _suggest(normalise(name), list(self._entries) + list(self._aliases))
        return ConfigError(f"unknown {self.kind} {name!r}.{hint} Available {self.kind}s: "
                           f"{', '.join(self.names()) or '(none)'}; or give 'path/to/file.py:ClassName' "
                           "or 'package.module:ClassName'.")

    def entry(self, name: str) -> Entry:
        return self._entries[self.canonical(name)]

    def get_class(self, name_or_spec: str) -> Any:
        """The class (or factory) behind a name, an alias or a ``file.py:Class`` /
        ``package.module:Class`` spec. Imports a lazy entry's module now."""
        if isinstance(name_or_spec, str) and ":" in name_or_spec and is_spec(name_or_spec):
            return load_object(name_or_spec)
        key = self.canonical(name_or_spec)
        if key not in self._loaded:
            target = self._entries[key].target
            if isinstance(target, str):
                target = _load_module(target, what=f"{self.kind} {key!r}")
            self._loaded[key] = target
        return self._loaded[key]

    def get(self, name_or_spec: str, **params: Any) -> Any:
        """An instance built with the entry's ``defaults`` updated by ``params``; parameters the
        class does not take raise :class:`ConfigError` before it is called."""
        cls = self.get_class(name_or_spec)
        defaults = {} if is_spec(name_or_spec) else dict(self.entry(name_or_spec).defaults)
        arguments = {**defaults, **params}
        check_parameters(cls, arguments, field=f"{self.kind} {name_or_spec!r}", complete=True)
        return cls(**arguments)

    def named(self, name: str, *aliases: str) -> Any:
        """Class decorator: register the class under ``name`` (and aliases) and set its
        ``name`` attribute to it (strategies and stopping criteria know their own name)."""

        def decorate(cls: Any) -> Any:
            self.register(name, *aliases, target=cls)
            cls.name = name
            return cls

        return decorate

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.names()})"


def _same(a: Any, b: Any) -> bool:
    return a is b or (isinstance(a, str) and a == b)


def _describe(target: Any) -> str:
    return target if isinstance(target, str) else getattr(target, "__qualname__", repr(target))


def _matches(entry: Entry, wanted: Mapping[str, Any]) -> bool:
    for key, value in wanted.items():
        held = entry.metadata.get(key)
        if value is None:
            continue
        if isinstance(held, (tuple, list, set, frozenset)):
            if value not in held:
                return False
        elif held != value:
            return False
    return True


__all__ = ["Entry", "Registry", "check_parameters", "is_file_spec", "is_module_spec", "is_spec",
           "load_object", "normalise", "suggest"]
