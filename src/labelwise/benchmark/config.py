"""Benchmark configs: typed dataclasses loaded from YAML and validated before any work.

Every error is a :class:`~labelwise.errors.ConfigError` whose message starts with the field
path (``strategies[2]``, ``data.pool.path``, ``query.size``) and says how to fix it.
See ``docs/benchmark.md`` for the reference.
"""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from labelwise.benchmark.components import build, check_params, is_path_spec, resolve_class
from labelwise.errors import CapabilityError, ConfigError, LabelwiseError

TASKS = ("classification", "tagging", "seq2seq")
SIZE_MODES = ("percent", "count", "one_per_class")
UNITS = ("instances", "tokens")
TOP_LEVEL = ("name", "task", "data", "model", "strategies", "subsampling", "initial", "query",
             "iterations", "seeds", "output", "output_options", "cold_start", "reference", "stopping",
             "cluster", "tune")  # tune: read by `labelwise tune` only (labelwise.cli.tune)
#: seeds when a config gives none: enough for a paired t-interval to separate real gains
DEFAULT_SEEDS = 5
#: fields that do not change the records, so a folder may be resumed with other values
NOT_IDENTITY = ("output", "reference", "cluster")
#: fields of the ``cluster:`` section (pool inference and scoring on Dask; the records do not change)
CLUSTER_FIELDS = ("address", "n_workers", "threads_per_worker")


@dataclass(frozen=True)
class DatasetSource:
    """One data file and the loader options for it (``text_column``, ``label_column``, ...)."""

    path: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DataConfig:
    """Pool and test files; optional seeded subsamples of each (``pool_size``, ``test_size``)."""

    pool: DatasetSource
    test: DatasetSource
    pool_size: int | None = None
    test_size: int | None = None
    subsample_seed: int = 0


@dataclass(frozen=True)
class ComponentSpec:
    """A model, strategy or subsampler: a registry name or ``path/to/file.py:ClassName``,
    its parameters, and the label shown in reports."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)
    label: str = ""

    @property
    def display(self) -> str:
        return self.label or self.name


@dataclass(frozen=True)
class SizeSpec:
    """How many to label: ``percent`` of the pool, a fixed ``count``, or (seed only)
    ``one_per_class`` (``size`` per class); counted in ``instances`` or ``tokens``."""

    mode: str
    size: float
    unit: str = "instances"


@dataclass(frozen=True)
class BenchmarkConfig:
    """A whole simulated-AL benchmark: every strategy × every seed × ``iterations`` queries."""

    task: str
    data: DataConfig
    model: ComponentSpec
    strategies: tuple[ComponentSpec, ...]
    initial: SizeSpec
    query: SizeSpec
    iterations: int
    seeds: tuple[int, ...]
    output: str
    subsampling: ComponentSpec | None = None
    name: str = ""
    output_options: dict[str, Any] = field(default_factory=dict)
    cold_start: str = "random"
    #: train the model once on the whole pool too, the 100 % of the report's label savings
    reference: bool = True
    #: stopping-criterion specs (see :func:`labelwise.stopping.stopping_from_config`); each is
    #: asked after every iteration of every run, and its decisions land in the records
    stopping: tuple[Any, ...] = ()
    #: ``{address}`` of a Dask scheduler, or ``{n_workers, threads_per_worker}`` for a local
    #: cluster; None runs in this process (the selections are the same either way)
    cluster: dict[str, Any] | None = None

    @property
    def stopping_labels(self) -> list[str]:
        """The name of each stopping spec in the records and the report."""
        return [stopping_label(spec) for spec in self.stopping]

    def to_dict(self) -> dict[str, Any]:
        """The resolved config as plain data (what ``config.yaml`` in the output holds)."""
        data = asdict(self)
        data["strategies"] = [asdict(s) for s in self.strategies]
        data["seeds"] = list(self.seeds)
        data["stopping"] = list(self.stopping)
        if not self.stopping:  # configs without stopping keep the identity they had before it
            data.pop("stopping")
        if self.cluster is None:
            data.pop("cluster")
        return data

    def identity(self) -> dict[str, Any]:
        """Everything that determines the records (the output folder does not)."""
        data = self.to_dict()
        for key in NOT_IDENTITY:
            data.pop(key, None)
        return data


# ---- loading -------------------------------------------------------------------------------
def load_config(path: str | Path, *, check_files: bool = True, check_components: bool = True) -> BenchmarkConfig:
    """Read and validate a YAML config. Relative data paths are resolved from the current
    directory (run from the repository root for the shipped configs)."""
    path = Path(path)
    raw = read_yaml(path)
    return config_from_dict(raw, check_files=check_files, check_components=check_components, source=str(path))


def read_yaml(path: str | Path) -> Any:
    """The parsed YAML of a config file; a missing file or bad YAML is a ConfigError naming
    the file (and the line)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} not found. Fix: check the path.")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{where}: not valid YAML ({getattr(error, 'problem', error)}).") from None


def config_from_dict(raw: Any, *, check_files: bool = True, check_components: bool = True,
                     source: str = "config") -> BenchmarkConfig:
    """Validate a parsed config mapping; see :func:`load_config`."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: the config must be a mapping of fields, got {_type(raw)}.")
    for key in raw:
        if key not in TOP_LEVEL:
            close = difflib.get_close_matches(str(key), TOP_LEVEL, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"{key}: unknown field.{hint} Fields: {', '.join(TOP_LEVEL)}.")
    task = _required(raw, "task", str, "task")
    if task not in TASKS:
        raise ConfigError(f"task: {task!r} is not a task; use one of {list(TASKS)}.")
    data = _data(_required(raw, "data", dict, "data"), check_files)
    model = _component(_required(raw, "model", (str, dict), "model"), "model")
    strategies_raw = _required(raw, "strategies", list, "strategies")
    if not strategies_raw:
        raise ConfigError("strategies: the list is empty; name at least one strategy (e.g. [random, entropy]).")
    strategies = tuple(_component(item, f"strategies[{i}]") for i, item in enumerate(strategies_raw))
    strategies = _unique_labels(strategies)
    subsampling = raw.get("subsampling")
    subsampling = None if subsampling is None else _component(subsampling, "subsampling")
    initial = _size(_required(raw, "initial", dict, "initial"), "initial", task, seed=True)
    query = _size(_required(raw, "query", dict, "query"), "query", task, seed=False)
    iterations = _required(raw, "iterations", int, "iterations")
    if iterations < 0:
        raise ConfigError(f"iterations: must be 0 or more, got {iterations}.")
    seeds_raw = raw.get("seeds")
    seeds_raw = DEFAULT_SEEDS if seeds_raw is None else _check_type(seeds_raw, (list, int), "seeds")
    seeds = tuple(range(seeds_raw)) if isinstance(seeds_raw, int) else tuple(seeds_raw)
    for i, seed in enumerate(seeds):
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise ConfigError(f"seeds[{i}]: expected an int, got {_type(seed)} ({seed!r}).")
    if not seeds or len(set(seeds)) != len(seeds):
        raise ConfigError("seeds: give a non-empty list of distinct ints (or a count, e.g. 3 for [0, 1, 2]).")
    output = _required(raw, "output", str, "output")
    output_options = raw.get("output_options") or {}
    if not isinstance(output_options, dict):
        raise ConfigError(f"output_options: expected a mapping, got {_type(output_options)}.")
    for key, value in output_options.items():
        if isinstance(value, dict) and "name" in value and check_components:
            resolve_class("model", str(value["name"]), field=f"output_options.{key}.name", task=task)
    cold_start = raw.get("cold_start", "random")
    if not isinstance(cold_start, str):
        raise ConfigError(f"cold_start: expected a strategy name, got {_type(cold_start)}.")
    reference = raw.get("reference", True)
    if not isinstance(reference, bool):
        raise ConfigError(f"reference: expected true or false, got {_type(reference)} ({reference!r}).")
    stopping = _stopping(raw.get("stopping"), task)
    name = raw.get("name", "") or Path(output).name
    if not isinstance(name, str):
        raise ConfigError(f"name: expected a string, got {_type(name)}.")
    config = BenchmarkConfig(task=task, data=data, model=model, strategies=strategies, initial=initial,
                             query=query, iterations=iterations, seeds=seeds, output=output,
                             subsampling=subsampling, name=name, output_options=output_options,
                             cold_start=cold_start, reference=reference, stopping=stopping,
                             cluster=_cluster(raw.get("cluster")))
    if check_components:
        validate_components(config)
    return config


def config_from_stored(stored: dict[str, Any], *, source: str = "config.yaml") -> BenchmarkConfig:
    """The config of an output folder's ``config.yaml`` (what :meth:`BenchmarkConfig.to_dict`
    wrote), validated again."""
    raw = dict(stored)
    data = dict(raw.get("data") or {})
    for key in ("pool", "test"):
        source_data = data.get(key)
        if isinstance(source_data, dict) and isinstance(source_data.get("options"), dict):
            data[key] = {"path": source_data.get("path"), **source_data["options"]}
    raw["data"] = data
    return config_from_dict(raw, check_files=False, source=source)


def _cluster(raw: Any) -> dict[str, Any] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ConfigError(f"cluster: expected a mapping such as {{address: 'tcp://host:8786'}} or "
                          f"{{n_workers: 2}}, got {_type(raw)}.")
    for key, value in raw.items():
        if key not in CLUSTER_FIELDS:
            raise ConfigError(f"cluster.{key}: unknown field; cluster takes {', '.join(CLUSTER_FIELDS)}.")
        if key == "address" and not isinstance(value, str):
            raise ConfigError(f"cluster.address: expected a scheduler address string, got {_type(value)}.")
        if key != "address" and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ConfigError(f"cluster.{key}: expected a positive int, got {value!r}.")
    if "address" in raw and ("n_workers" in raw or "threads_per_worker" in raw):
        raise ConfigError("cluster: give either address (an existing scheduler) or n_workers (a local cluster).")
    return dict(raw)


def stopping_label(spec: Any) -> str:
    """A short name for a stopping spec: ``kappa_average``, ``label_budget(max_labels=400)``,
    ``any(kappa_average, label_budget(max_labels=400))``."""
    if isinstance(spec, str):
        return spec
    if isinstance(spec, dict) and len(spec) == 1:
        ((key, value),) = spec.items()
        if key in ("any", "all") and isinstance(value, list):
            return f"{key}({', '.join(stopping_label(item) for item in value)})"
        params = ", ".join(f"{k}={v}" for k, v in sorted((value or {}).items())) if isinstance(value, dict) else ""
        return f"{key}({params})" if params else str(key)
    if isinstance(spec, list):
        return stopping_label({"any": spec})
    return str(spec)


def _stopping(raw: Any, task: str) -> tuple[Any, ...]:
    """The ``stopping:`` list, each spec built once to check its name, parameters and task."""
    from labelwise.stopping import stopping_from_config

    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ConfigError(f"stopping: expected a list of stopping criteria (e.g. [stabilizing_predictions, "
                          f"kappa_average]), got {_type(raw)}.")
    labels: list[str] = []
    for i, spec in enumerate(raw):
        try:
            criterion = stopping_from_config(spec)
        except LabelwiseError as error:
            raise ConfigError(f"stopping[{i}]: {error}") from None
        leaves, children = [], [criterion]
        while children:
            child = children.pop()
            nested = getattr(child, "criteria", None)
            children.extend(nested) if nested else leaves.append(child)
        for child in leaves:
            if task not in child.tasks:
                why = child.not_applicable.get(task, "")
                raise ConfigError(f"stopping[{i}]: {child.name!r} does not apply to {task}: {why} "
                                  "Fix: remove it from 'stopping:'.")
            if "cost" in child.needs:
                raise ConfigError(f"stopping[{i}]: {child.name!r} needs an annotation cost, which a simulated "
                                  "benchmark does not have. Fix: use label_budget instead.")
        label = stopping_label(spec)
        if label in labels:
            raise ConfigError(f"stopping[{i}]: {label!r} is listed twice; give each criterion once.")
        labels.append(label)
    return tuple(raw)


def validate_components(config: BenchmarkConfig) -> None:
    """Check that the model, every strategy and the subsampler resolve, fit the task and
    accept their parameters (imports their modules; builds nothing heavy)."""
    from labelwise.strategies import strategy_class

    model_cls = resolve_class("model", config.model.name, field="model.name", task=config.task)
    check_params(model_cls, config.model.params, field="model.params")
    for i, spec in enumerate(config.strategies):
        try:
            cls = strategy_class(spec.name)
        except ConfigError as error:
            raise ConfigError(f"strategies[{i}]: {error}") from None
        except Exception as error:
            raise ConfigError(f"strategies[{i}]: loading {spec.name!r} failed ({type(error).__name__}: {error}).") from None
        tasks = getattr(cls, "tasks", TASKS)
        if config.task not in tasks:
            from labelwise.strategies import available_strategies

            raise ConfigError(f"strategies[{i}]: {spec.name!r} is for {'/'.join(tasks)}, not {config.task}. "
                              f"Strategies for {config.task}: {', '.join(available_strategies(config.task))}.")
        check_params(cls, spec.params, field=f"strategies[{i}].params")
    if config.subsampling is not None:
        cls = resolve_class("subsampler", config.subsampling.name, field="subsampling.name")
        check_params(cls, config.subsampling.params, field="subsampling.params")
    check_capabilities(config, model_cls)


def _strategy_kinds(strategy: Any) -> list[str]:
    """The outputs a strategy reads, with those of a wrapped base strategy (AcTune, SEALS)."""
    kinds = list(getattr(strategy, "requires", ()))
    base = getattr(strategy, "base_strategy", None)
    base = base() if callable(base) else getattr(strategy, "base", None)
    if base is not None and not isinstance(base, str):
        kinds += [kind for kind in getattr(base, "requires", ()) if kind not in kinds]
    return kinds


def check_capabilities(config: BenchmarkConfig, model_cls: type) -> None:
    """Refuse, before any work, a strategy whose outputs the model cannot compute (e.g. BALD's
    MC-dropout probabilities from TF-IDF + LR), naming ``strategies[i]`` and the fix.

    Checked on the model's class (a capability is a method), so nothing is built or loaded.
    """
    from labelwise.outputs import model_can_produce
    from labelwise.strategies import available_strategies, get_strategy

    delegates: dict[str, Any] = {}
    for key, value in config.output_options.items():
        if isinstance(value, dict) and "name" in value:
            delegates[key] = resolve_class("model", str(value["name"]), field=f"output_options.{key}.name",
                                           task=config.task)
        else:
            delegates[key] = value
    served = None
    for i, spec in enumerate(config.strategies):
        try:
            strategy = get_strategy(spec.name, **spec.params)
            kinds = _strategy_kinds(strategy)
        except CapabilityError:
            raise
        except Exception as error:  # a bad base name or parameter value
            raise ConfigError(f"strategies[{i}]: building {spec.name!r} failed ({type(error).__name__}: "
                              f"{error}).") from None
        missing = [kind for kind in kinds if not model_can_produce(model_cls, kind, delegates)]
        if not missing:
            continue
        if served is None:
            served = []
            for name in available_strategies(config.task):
                try:
                    candidate = get_strategy(name)
                except Exception:  # noqa: BLE001 - a strategy needing parameters is not suggested
                    continue
                if all(model_can_produce(model_cls, kind, delegates) for kind in _strategy_kinds(candidate)):
                    served.append(name)
        from labelwise.outputs import known_outputs

        kinds_info = known_outputs()
        helpers = sorted({kinds_info[k].delegate_option for k in missing
                          if k in kinds_info and kinds_info[k].delegate_option})
        helper = "".join(f", or give 'output_options.{h}: {{name: masked_lm}}'" for h in helpers)
        raise CapabilityError(
            f"strategies[{i}]: {spec.display!r} needs {missing}, which the model {config.model.name!r} "
            f"({model_cls.__name__}) cannot compute. Fix: remove it from 'strategies:'{helper}, or choose "
            f"a model that provides them. Strategies this model serves: {', '.join(served)}.")


def build_output_options(config: BenchmarkConfig, seed: int) -> dict[str, Any]:
    """``output_options`` with every ``{name, params}`` mapping built as a component, e.g.
    ``language_model: {name: masked_lm, params: {mlm_steps: 200}}`` for ALPS."""
    options: dict[str, Any] = {}
    for key, value in config.output_options.items():
        if isinstance(value, dict) and "name" in value:
            params = {"random_state": seed, **dict(value.get("params") or {})}
            options[key] = build("model", str(value["name"]), params, field=f"output_options.{key}",
                                 task=config.task)
        else:
            options[key] = value
    return options


def build_model(config: BenchmarkConfig, random_state: int) -> Any:
    """A fresh model for one run; ``random_state`` is passed when the model takes one."""
    params = dict(config.model.params)
    cls = resolve_class("model", config.model.name, field="model.name", task=config.task)
    try:
        import inspect

        if "random_state" in inspect.signature(cls).parameters and "random_state" not in params:
            params["random_state"] = random_state
    except (TypeError, ValueError):
        pass
    return build("model", config.model.name, params, field="model", task=config.task)


def build_subsampler(config: BenchmarkConfig) -> Any:
    if config.subsampling is None:
        return None
    return build("subsampler", config.subsampling.name, dict(config.subsampling.params), field="subsampling")


def data_root() -> Path:
    """The folder relative data paths are resolved from: ``$LABELWISE_DATA_ROOT`` or the
    current directory. (The shipped configs say ``../shared/data/...``, relative to the
    repository root; from a git worktree elsewhere, point LABELWISE_DATA_ROOT at a folder
    whose ``../shared/data`` exists.)"""
    import os

    return Path(os.environ.get("LABELWISE_DATA_ROOT") or Path.cwd())


def resolve_data_path(path: str) -> Path:
    """``path`` as given when absolute, else under :func:`data_root`; ``~`` is expanded."""
    candidate = Path(path).expanduser()
    return candidate if candidate.is_absolute() else data_root() / candidate


# ---- field helpers -------------------------------------------------------------------------
def _type(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", int: "an int", float: "a number",
            bool: "a boolean", type(None): "nothing (null)"}.get(type(value), type(value).__name__)


def _expected(types: type | tuple[type, ...]) -> str:
    types = types if isinstance(types, tuple) else (types,)
    return " or ".join(_type(t()) if t is not type(None) else "null" for t in types)


def _check_type(value: Any, types: type | tuple[type, ...], where: str) -> Any:
    wanted = types if isinstance(types, tuple) else (types,)
    ok = isinstance(value, wanted) and not (isinstance(value, bool) and bool not in wanted)
    if float in wanted and isinstance(value, int) and not isinstance(value, bool):
        ok = True
    if not ok:
        raise ConfigError(f"{where}: expected {_expected(types)}, got {_type(value)} ({value!r}).")
    return value


def _required(raw: dict, key: str, types: type | tuple[type, ...], where: str) -> Any:
    if key not in raw or raw[key] is None:
        raise ConfigError(f"{where}: missing; add '{key}:' to the config (see docs/benchmark.md).")
    return _check_type(raw[key], types, where)


def _source(raw: Any, where: str, check_files: bool) -> DatasetSource:
    if isinstance(raw, str):
        raw = {"path": raw}
    _check_type(raw, (str, dict), where)
    path = _required(raw, "path", str, f"{where}.path")
    options = {k: v for k, v in raw.items() if k != "path"}
    if check_files and not resolve_data_path(path).exists():
        raise ConfigError(f"{where}.path: file {path!r} not found (resolved from {data_root()}). "
                          "Fix: correct the path, run from the folder it is relative to, or set "
                          "LABELWISE_DATA_ROOT to that folder.")
    return DatasetSource(path, options)


def _data(raw: dict, check_files: bool) -> DataConfig:
    known = ("pool", "test", "pool_size", "test_size", "subsample_seed")
    for key in raw:
        if key not in known:
            raise ConfigError(f"data.{key}: unknown field; data takes {', '.join(known)}.")
    pool = _source(_required(raw, "pool", (str, dict), "data.pool"), "data.pool", check_files)
    test = _source(_required(raw, "test", (str, dict), "data.test"), "data.test", check_files)
    sizes = {}
    for key in ("pool_size", "test_size"):
        value = raw.get(key)
        if value is not None:
            _check_type(value, int, f"data.{key}")
            if value < 1:
                raise ConfigError(f"data.{key}: must be positive, got {value}; omit it to use every row.")
        sizes[key] = value
    seed = raw.get("subsample_seed", 0)
    _check_type(seed, int, "data.subsample_seed")
    return DataConfig(pool, test, sizes["pool_size"], sizes["test_size"], seed)


def _component(raw: Any, where: str) -> ComponentSpec:
    if isinstance(raw, str):
        if not raw.strip():
            raise ConfigError(f"{where}: the name is empty.")
        return ComponentSpec(raw.strip())
    _check_type(raw, (str, dict), where)
    for key in raw:
        if key not in ("name", "params", "label"):
            raise ConfigError(f"{where}.{key}: unknown field; give name, params and (optionally) label.")
    name = _required(raw, "name", str, f"{where}.name")
    params = raw.get("params") or {}
    _check_type(params, dict, f"{where}.params")
    label = raw.get("label", "") or ""
    _check_type(label, str, f"{where}.label")
    return ComponentSpec(name.strip(), dict(params), label)


def _unique_labels(strategies: tuple[ComponentSpec, ...]) -> tuple[ComponentSpec, ...]:
    """Give every strategy a distinct display label (used as its key in the records)."""
    result = []
    seen: dict[str, int] = {}
    for i, spec in enumerate(strategies):
        label = spec.label or (spec.name.rsplit(":", 1)[1] if is_path_spec(spec.name) else spec.name)
        if not spec.label and spec.params:
            label += "(" + ", ".join(f"{k}={v}" for k, v in sorted(spec.params.items())) + ")"
        if label in seen:
            raise ConfigError(f"strategies[{i}]: {label!r} repeats strategies[{seen[label]}]; "
                              "give one of them a distinct 'label:'.")
        seen[label] = i
        result.append(ComponentSpec(spec.name, spec.params, label))
    return tuple(result)


def _size(raw: dict, where: str, task: str, *, seed: bool) -> SizeSpec:
    for key in raw:
        if key not in ("mode", "size", "unit"):
            raise ConfigError(f"{where}.{key}: unknown field; give mode, size and (optionally) unit.")
    mode = _required(raw, "mode", str, f"{where}.mode")
    modes = SIZE_MODES if seed else SIZE_MODES[:2]
    if mode not in modes:
        extra = " (one_per_class is for the initial seed only)" if mode == "one_per_class" else ""
        raise ConfigError(f"{where}.mode: {mode!r} is not a mode{extra}; use one of {list(modes)}.")
    size = raw.get("size", 1 if mode == "one_per_class" else None)
    if size is None:
        raise ConfigError(f"{where}.size: missing; add e.g. 'size: 1' ({'percent' if mode == 'percent' else 'count'}).")
    _check_type(size, float if mode == "percent" else int, f"{where}.size")
    if mode == "percent" and not 0 < size <= 100:
        raise ConfigError(f"{where}.size: a percent must lie in (0, 100], got {size}.")
    if mode != "percent" and size < 1:
        raise ConfigError(f"{where}.size: must be a positive count, got {size}.")
    unit = raw.get("unit", "instances")
    _check_type(unit, str, f"{where}.unit")
    if unit not in UNITS:
        raise ConfigError(f"{where}.unit: {unit!r} is not a unit; use one of {list(UNITS)}.")
    if unit == "tokens" and task != "tagging":
        raise ConfigError(f"{where}.unit: 'tokens' needs task: tagging (sentences with tokens); use 'instances'.")
    if mode == "one_per_class" and task != "classification":
        raise ConfigError(f"{where}.mode: one_per_class needs task: classification; use 'count' or 'percent'.")
    if mode == "one_per_class" and unit == "tokens":
        raise ConfigError(f"{where}.unit: one_per_class counts instances; remove 'unit: tokens'.")
    return SizeSpec(mode, float(size) if mode == "percent" else int(size), unit)
