"""The classification rules: every rule the harness applies, in the order it applies them.

A test of MLflow's suite run against mlcask ends in one of four classes:

``pass``
    It passed (or xpassed).
``missing``
    It failed because a public MLflow name or argument that mlcask is meant to provide is absent:
    ``AttributeError`` / ``ImportError`` on a public ``mlflow.*`` name, a ``TypeError`` for an
    unexpected keyword or a positional signature mlcask's function does not take, a
    ``NotImplementedError``.
``different``
    It failed any other way: a wrong value, another exception, another message, a timeout.
``set-aside``
    It does not measure mlcask's public behaviour: it needs MLflow internals (private names,
    ``mlflow.utils`` / ``mlflow.store`` / ..., patching them), a part of MLflow outside mlcask's
    scope (tracing, GenAI, other flavors, deployments, ...), an environment the harness does not
    give (Spark, Docker, Databricks, conda/virtualenv, the CLI scoring server, the network), a
    package that is not installed, or it was skipped by the test itself.

Names are judged with :func:`name_category`; each test with :func:`classify`, which walks
:data:`RULES` top to bottom and takes the first verdict.

Spark is out of scope by default. The *Spark scope* (``scripts/mlflow-parity --spark``, or
``PARITY_SPARK=1`` in a pytest process; :func:`use_spark_scope`) brings ``mlflow.spark``,
``mlflow.pyspark.ml``, ``mlflow.pyfunc.spark_udf`` and the tests that need a SparkSession into
scope; Spark Connect, Databricks, environment managers other than ``local``, Spark datasource
autologging (MLflow's Java jar) and MLflow internals (``mlflow.pyfunc.spark_model_cache``,
``_``-names) stay set aside.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

PASS, MISSING, DIFFERENT, SET_ASIDE = "pass", "missing", "different", "set-aside"
CLASSES = (PASS, MISSING, DIFFERENT, SET_ASIDE)

# Categories of a name (placeholders, import errors, patched targets).
PUBLIC, INTERNAL, OUT_OF_SCOPE, DEPENDENCY, ENVIRONMENT, HELPER = (
    "public", "internal", "out-of-scope", "dependency", "environment", "helper")
CATEGORIES = (PUBLIC, INTERNAL, OUT_OF_SCOPE, DEPENDENCY, ENVIRONMENT, HELPER)
CLASS_OF_CATEGORY = {PUBLIC: MISSING, INTERNAL: SET_ASIDE, OUT_OF_SCOPE: SET_ASIDE, DEPENDENCY: SET_ASIDE,
                     ENVIRONMENT: SET_ASIDE, HELPER: SET_ASIDE}

# ---------------------------------------------------------------------------------------------
# Which mlflow names are public and in mlcask's scope
# ---------------------------------------------------------------------------------------------

# Top-level MLflow modules whose public names mlcask promises (``import mlcask as mlflow``).
IN_SCOPE_MODULES = frozenset({
    "artifacts", "client", "config", "data", "entities", "environment_variables", "exceptions",
    "lightgbm", "models", "pyfunc", "sklearn", "tracking", "types", "version", "xgboost",
})

# MLflow modules (and their submodules) that are implementation, not documented API.
INTERNAL_MODULES = (
    "mlflow.utils", "mlflow.store", "mlflow.protos", "mlflow.ml_package_versions",
    "mlflow.tracking.context", "mlflow.tracking.default_experiment", "mlflow.tracking.request_header",
    "mlflow.tracking.request_auth", "mlflow.tracking.registry", "mlflow.tracking.artifact_utils",
    "mlflow.tracking.metric_value_conversion_utils", "mlflow.tracking.multimedia",
    "mlflow.pyfunc.scoring_server", "mlflow.pyfunc.backend", "mlflow.pyfunc.context",
    "mlflow.pyfunc.dbconnect_artifact_cache", "mlflow.pyfunc.loaders", "mlflow.pyfunc.stdin_server",
    "mlflow.models.container", "mlflow.models.docker_utils", "mlflow.models.flavor_backend",
    "mlflow.models.flavor_backend_registry", "mlflow.models.dependencies_schemas",
    "mlflow.models.display_utils", "mlflow.models.model_config", "mlflow.sklearn.utils",
    "mlflow.types.type_hints", "mlflow.entities.trace_location", "mlflow.data.spark_dataset",
    "mlflow.data.spark_delta_utils", "mlflow.data.delta_dataset_source",
    "mlflow.environment_variables._",  # only the private ones (the underscore rule catches them)
)

# Parts of MLflow outside mlcask's scope (public in MLflow, not promised by mlcask).
OUT_OF_SCOPE_MODULES = (
    "mlflow.tracing", "mlflow.genai", "mlflow.evaluation", "mlflow.models.evaluation", "mlflow.metrics",
    "mlflow.deployments", "mlflow.projects", "mlflow.gateway", "mlflow.spark", "mlflow.pyspark",
    "mlflow.server", "mlflow.telemetry", "mlflow.prompt", "mlflow.types.llm", "mlflow.types.chat",
    "mlflow.types.agent", "mlflow.types.responses", "mlflow.types.responses_helpers",
    "mlflow.models.rag_signatures", "mlflow.models.resources", "mlflow.pyfunc.spark_model_cache",
    "mlflow.otel", "mlflow.webhooks", "mlflow.assistant", "mlflow.ai_commands",
)

# Every top-level package of MLflow 3.x; one not in IN_SCOPE_MODULES is another flavor or
# product (langchain, openai, tensorflow, ...): out of scope.
MLFLOW_TOP_MODULES = frozenset("""
ag2 agent agno ai_commands anthropic artifacts assistant autogen azure bedrock catboost claude_code cli
client config crewai data db demo deployments diffusers dspy entities environment_variables
error_classification evaluation exceptions experiments gateway gemini genai groq h2o haystack
johnsnowlabs keras langchain legacy_databricks_cli lightgbm litellm llama_index mcp metrics mismatch
mistral ml_package_versions models onnx openai optuna otel paddle pmdarima projects prompt prophet
protos pydantic_ai pyfunc pyspark pytest pytorch rfunc runs sagemaker semantic_kernel
sentence_transformers server shap sklearn smolagents spacy spark statsmodels store strands
system_metrics telemetry tensorflow tracing tracking transformers types typesafe utils version
webhooks xgboost
""".split())

# A name component matching this belongs to tracing, GenAI, Spark, Databricks and the like.
OUT_OF_SCOPE_NAME = re.compile(
    r"trace|tracing|span|prompt|genai|evaluat|assessment|feedback|expectation|scorer|judge|"
    r"webhook|workspace|spark|databricks|chat|agent|llm|gateway|deployment|dbfs|unity_catalog|"
    r"sagemaker|telemetry|system_metrics|otel",
    re.IGNORECASE)


# ---------------------------------------------------------------------------------------------
# The Spark scope (opt-in)
# ---------------------------------------------------------------------------------------------

SPARK_ENV = "PARITY_SPARK"  # "1" in a pytest process of a --spark run
_SCOPE = {"spark": os.environ.get(SPARK_ENV) == "1"}

# In the Spark scope these are promised too.
SPARK_IN_SCOPE_MODULES = frozenset({"spark", "pyspark"})
SPARK_DOCUMENTED_MODULES = frozenset({"mlflow.spark", "mlflow.pyspark.ml"})
# ... and these stay out: datasource autologging needs MLflow's Java jar; the rest is not Spark ML.
SPARK_OUT_OF_SCOPE_MODULES = tuple(m for m in OUT_OF_SCOPE_MODULES if m not in ("mlflow.spark", "mlflow.pyspark")) + (
    "mlflow.spark.autolog", "mlflow.spark.autologging", "mlflow.pyspark.optuna",
)
# The name rule without "spark" (Spark Connect and Databricks Connect stay out).
SPARK_OUT_OF_SCOPE_NAME = re.compile(
    OUT_OF_SCOPE_NAME.pattern.replace("spark|", "spark_?connect|dbconnect|"), re.IGNORECASE)


def use_spark_scope(enabled: bool) -> None:
    """Judge names and tests with the Spark scope on (``--spark``) or off (the default)."""
    _SCOPE["spark"] = bool(enabled)


def spark_scope() -> bool:
    """Whether the Spark scope is on in this process."""
    return _SCOPE["spark"]


def _in_scope_modules() -> frozenset[str]:
    return IN_SCOPE_MODULES | SPARK_IN_SCOPE_MODULES if _SCOPE["spark"] else IN_SCOPE_MODULES


def _out_of_scope_modules() -> tuple[str, ...]:
    return SPARK_OUT_OF_SCOPE_MODULES if _SCOPE["spark"] else OUT_OF_SCOPE_MODULES


def _out_of_scope_name() -> re.Pattern[str]:
    return SPARK_OUT_OF_SCOPE_NAME if _SCOPE["spark"] else OUT_OF_SCOPE_NAME


def _private(part: str) -> bool:
    return part.startswith("_") and not (part.startswith("__") and part.endswith("__"))


def _under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p if p.endswith("_") else p + ".") for p in prefixes)


def name_category(name: str) -> str:
    """The category of a dotted name as MLflow spells it (``mlflow.models.Model.log``).

    Rules, first match wins: a ``_``-prefixed component is ``internal``; a name outside
    ``mlflow`` is a ``dependency``; a component naming tracing/GenAI/Spark/Databricks... is
    ``out-of-scope``; a name under :data:`INTERNAL_MODULES` is ``internal``; one under
    :data:`OUT_OF_SCOPE_MODULES` or another top-level MLflow package is ``out-of-scope``;
    everything else (``mlflow.last_logged_model``, ``mlflow.models.Model.log``) is ``public``.
    In the Spark scope the ``SPARK_*`` variants of these lists apply (``mlflow.spark.save_model``
    and ``mlflow.pyfunc.spark_udf`` are public).
    """
    if name.startswith("mlcask"):
        name = "mlflow" + name[len("mlcask"):]
    parts = name.split(".")
    if any(_private(p) for p in parts):
        return INTERNAL
    if parts[0] != "mlflow":
        return HELPER if parts[0] == "tests" else DEPENDENCY
    if any(_out_of_scope_name().search(p) for p in parts[1:]):
        return OUT_OF_SCOPE
    if _under(name, INTERNAL_MODULES):
        return INTERNAL
    if _under(name, _out_of_scope_modules()):
        return OUT_OF_SCOPE
    if len(parts) > 1 and parts[1] in MLFLOW_TOP_MODULES and parts[1] not in _in_scope_modules():
        return OUT_OF_SCOPE
    return PUBLIC


def import_category(dotted: str, error: BaseException) -> str:
    """The category of a name a guarded top-level import could not bind."""
    missing_module = getattr(error, "name", None) or ""
    if dotted.startswith("mlflow"):
        if missing_module and not missing_module.startswith(("mlflow", "mlcask")):
            return DEPENDENCY  # mlcask's module exists but needs a package that is not installed
        return name_category(dotted)
    if dotted.startswith("tests"):
        if missing_module and missing_module.startswith(("mlflow", "mlcask")):
            return name_category(missing_module)
        return HELPER
    return DEPENDENCY


def error_name_category(error: BaseException) -> tuple[str, str]:
    """(the mlflow name, its category) behind an error raised while a module was imported."""
    name = getattr(error, "name", None)
    obj = getattr(error, "obj", None)
    if isinstance(error, AttributeError) and name and getattr(obj, "__name__", "").startswith("mlcask"):
        dotted = f"mlflow{obj.__name__[len('mlcask'):]}.{name}"
        return dotted, name_category(dotted)
    if isinstance(error, ImportError) and name:
        dotted = "mlflow" + name[len("mlcask"):] if name.startswith("mlcask") else name
        return dotted, name_category(dotted)
    placeholder = getattr(error, "category", None)
    if placeholder:
        return error.name, placeholder
    return f"{type(error).__name__}: {str(error)[:120]}", HELPER


# ---------------------------------------------------------------------------------------------
# Tests set aside before they run (they would need an environment the harness does not give)
# ---------------------------------------------------------------------------------------------

# On the test's node id (its name and parameters).
SET_ASIDE_NODEID = [
    (re.compile(r"spark", re.I), "needs Spark"),
    (re.compile(r"docker|sagemaker", re.I), "needs Docker"),
    (re.compile(r"databricks|dbfs|unity_catalog|(^|[_\[])uc([_\]]|$)", re.I), "needs Databricks"),
    (re.compile(r"virtualenv|pyenv|(^|_)uv(_|$)|conda_env_creation", re.I), "creates a Python environment"),
    (re.compile(r"(^|_)(traces?|tracing|tracer|spans?|prompts?|genai|chat_model|agent|judges?|scorers?|"
                r"assessments?|webhooks?)(_|$|\[)", re.I), "out of scope (tracing / GenAI)"),
]
# On the test function's source (decorators included).
# (Tests that serve a model run: the harness scores in-process through mlcask's scoring app, see
# serving.py; with --serving off they are set aside when they reach the helper, SET_ASIDE_HELPERS.)
SET_ASIDE_SOURCE = [
    (re.compile(r"\bspark\b|pyspark|SparkSession|spark_udf|spark_session"), "needs Spark"),
    (re.compile(r"[\"']databricks(-uc)?[\"':/]|DATABRICKS_(HOST|TOKEN)|mock_is_in_databricks"), "needs Databricks"),
    (re.compile(r"_is_available_on_pypi|requests\.(get|post)\(\s*f?[\"']https?://"), "needs the network"),
    (re.compile(r"mock_s3_bucket|moto\b|boto3"), "needs S3 (moto/boto3)"),
    (re.compile(r"\bdocker\b|build_docker|pyfunc_build_image", re.I), "needs Docker"),
]
# Fixtures of MLflow's own suite that stand for such environments.
SET_ASIDE_FIXTURE = re.compile(r"spark|databricks|s3|docker|sagemaker|openai|langchain|dbfs", re.I)

# The Spark scope: the same lists without their Spark entries, plus what stays out with Spark in.
_SPARK_CONNECT = "needs Spark Connect"
_PYTHON_ENV = "creates a Python environment"
SPARK_SET_ASIDE_NODEID = [(p, why) for p, why in SET_ASIDE_NODEID if why != "needs Spark"] + [
    (re.compile(r"spark_?connect|dbconnect|(^|_)connect(_|$)", re.I), _SPARK_CONNECT),
    (re.compile(r"[\[-](conda|uv)([\]-]|$)"), _PYTHON_ENV),  # parameters: [conda], [uv-True]
]
SPARK_SET_ASIDE_SOURCE = [(p, why) for p, why in SET_ASIDE_SOURCE if why != "needs Spark"] + [
    (re.compile(r"SparkSession\.builder\.remote|[\"']sc://|is_spark_connect|DatabricksSession|dbconnect"),
     _SPARK_CONNECT),
    (re.compile(r"env_manager\s*=\s*[\"'](conda|virtualenv|uv)[\"']"), _PYTHON_ENV),
]
SPARK_SET_ASIDE_FIXTURE = re.compile(r"databricks|s3|docker|sagemaker|openai|langchain|dbfs", re.I)

# MLflow test helpers (tests/helper_functions.py) replaced, before collection, by placeholders.
SET_ASIDE_HELPERS = {
    "pyfunc_serve_and_score_model": "serves through the mlflow CLI scoring server",
    "pyfunc_scoring_endpoint": "serves through the mlflow CLI scoring server",
    "pyfunc_build_image": "needs Docker",
    "pyfunc_generate_dockerfile": "needs Docker",
    "pyfunc_serve_from_docker_image": "needs Docker",
    "pyfunc_serve_from_docker_image_with_env_override": "needs Docker",
    "score_model_in_sagemaker_docker_container": "needs Docker",
    "_is_available_on_pypi": "needs the network (PyPI)",
    "start_mock_openai_server": "out of scope (OpenAI)",
}
SET_ASIDE_MARK = "[parity set-aside] "

# Statements of MLflow's fixtures that only keep MLflow's own internals isolated between tests
# (tracer resets, registry reloads). The working copy replaces each with ``pass`` so that the
# tests around them measure mlcask's public behaviour instead of being set aside for them.
SCAFFOLDING_STATEMENTS = re.compile(
    r"^(\s*)(mlflow\.tracing\.(disable|enable)\(\)|reload\(mlflow\.tracking\.context\.registry\)|"
    r"mlflow\.tracking\.fluent\._active_experiment_id = None)\s*$",
    re.MULTILINE)


def pre_run_set_aside(nodeid: str, source: str, fixturenames: list[str]) -> str | None:
    """Why a test is set aside without running it, or None."""
    test_part = nodeid.split("::", 1)[-1]
    spark = _SCOPE["spark"]
    for pattern, why in SPARK_SET_ASIDE_NODEID if spark else SET_ASIDE_NODEID:
        if pattern.search(test_part):
            return why
    for pattern, why in SPARK_SET_ASIDE_SOURCE if spark else SET_ASIDE_SOURCE:
        if pattern.search(source):
            return why
    for fixture in fixturenames:
        if (SPARK_SET_ASIDE_FIXTURE if spark else SET_ASIDE_FIXTURE).search(fixture):
            return f"needs the MLflow test fixture {fixture!r}"
    return None


# ---------------------------------------------------------------------------------------------
# Classifying one test's outcome
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    cls: str
    reason: str
    name: str | None = None  # the missing public name, when cls is "missing"


_SIGNATURE_ERROR = re.compile(
    r"unexpected keyword argument|missing \d+ required (positional|keyword-only) argument|"
    r"takes (from \d+ to )?\d+ positional arguments? but \d+ (were|was) given|"
    r"got multiple values for argument|got some positional-only arguments|takes no arguments")
_CALLABLE = re.compile(r"^([\w.<>]+)\(\) ")
_KEYWORD = re.compile(r"unexpected keyword argument '(\w+)'")
_MOCK_TARGET = re.compile(r"<module '([\w.]+)'.*?> does not have the attribute '(\w+)'")
_FIXTURE_MISSING = re.compile(r"fixture '(\w+)' not found")


def _category_verdict(name: str, category: str, how: str) -> Verdict:
    cls = CLASS_OF_CATEGORY[category]
    label = "missing public name" if category == PUBLIC else category
    return Verdict(cls, f"{how} {name} ({label})", name if cls == MISSING else None)


def _mlflow(name: str) -> str:
    return "mlflow" + name[len("mlcask"):] if name.startswith("mlcask") else name


def rule_passed(rec: dict[str, Any]) -> Verdict | None:
    if rec["outcome"] in ("passed", "xpassed"):
        return Verdict(PASS, "passed")
    return None


def rule_skipped(rec: dict[str, Any]) -> Verdict | None:
    """Set aside before running (SET_ASIDE_*), skipped by the test itself, or xfailed."""
    if rec["outcome"] == "skipped":
        reason = rec.get("skip_reason") or "skipped"
        if reason.startswith(SET_ASIDE_MARK):
            return Verdict(SET_ASIDE, reason[len(SET_ASIDE_MARK):])
        return Verdict(SET_ASIDE, f"skipped by the test: {reason}")
    if rec["outcome"] == "xfailed":
        return Verdict(SET_ASIDE, "xfail in MLflow's suite")
    return None


def rule_placeholder(rec: dict[str, Any]) -> Verdict | None:
    """The test used a name its guarded import could not bind: the first such name decides."""
    touched = rec.get("touched") or []
    if not touched:
        return None
    ranked = sorted(touched, key=lambda t: 0 if t[1] != PUBLIC else 1)  # internal use sets aside first
    name, category, _why = ranked[0]
    return _category_verdict(name, category, "uses")


# The modules MLflow documents; patching a name elsewhere (``mlflow.tracking.fluent.MlflowClient``,
# where MLflow's fluent API happens to import its client from) patches MLflow's wiring.
DOCUMENTED_MODULES = frozenset({
    "mlflow", "mlflow.artifacts", "mlflow.client", "mlflow.config", "mlflow.data", "mlflow.entities",
    "mlflow.environment_variables", "mlflow.exceptions", "mlflow.lightgbm", "mlflow.models", "mlflow.pyfunc",
    "mlflow.sklearn", "mlflow.tracking", "mlflow.types", "mlflow.xgboost",
})


def patch_target_category(target: str) -> str:
    """The category of a patched name: public only for a public name of a documented module
    (or a method of a class exported there)."""
    name = _mlflow(target)
    category = name_category(name)
    if category != PUBLIC:
        return category
    parts = name.split(".")
    documented = DOCUMENTED_MODULES | SPARK_DOCUMENTED_MODULES if _SCOPE["spark"] else DOCUMENTED_MODULES
    if ".".join(parts[:-1]) in documented:
        return PUBLIC
    if len(parts) > 2 and parts[-2][:1].isupper() and ".".join(parts[:-2]) in documented:
        return PUBLIC  # a method of an exported class: mlflow.models.Model.log
    return INTERNAL


def _internal_targets(targets: list[str]) -> list[str]:
    names = [_mlflow(t) for t in targets]
    return [n for n in names if n.startswith("mlflow") and patch_target_category(n) != PUBLIC]


_UNAVAILABLE_REPR = re.compile(r"<unavailable ([\w.]+) \(([\w-]+)\)>")


def rule_placeholder_in_message(rec: dict[str, Any]) -> Verdict | None:
    """A placeholder reached code that never called back into it (``re.escape(MISSING_MESSAGE)``,
    a YAML dump): its repr, or the plugin's scan of the test's globals, names it."""
    exc = rec.get("exc") or {}
    match = _UNAVAILABLE_REPR.search(exc.get("message", ""))
    if match and match.group(2) in CLASS_OF_CATEGORY:
        return _category_verdict(match.group(1), match.group(2), "uses")
    return None


def rule_patched_internal(rec: dict[str, Any]) -> Verdict | None:
    """The test patched an MLflow internal (mock.patch / monkeypatch.setattr) in its body; or a
    fixture did and the test failed on that mock (an ``assert_called...`` in unittest.mock)."""
    internal = _internal_targets(rec.get("patched") or [])
    if internal:
        return Verdict(SET_ASIDE, f"patches MLflow internal {internal[0]}")
    by_fixture = _internal_targets(rec.get("fixture_patched") or [])
    frames = (rec.get("exc") or {}).get("frames") or []
    if by_fixture and (rec.get("phase") != "call" or any(f["file"].endswith("unittest/mock.py") for f in frames)):
        return Verdict(SET_ASIDE, f"patches MLflow internal {by_fixture[0]} (in a fixture)")
    return None


def rule_fixture_missing(rec: dict[str, Any]) -> Verdict | None:
    match = _FIXTURE_MISSING.search(rec.get("longrepr") or "")
    if match:
        return Verdict(SET_ASIDE, f"needs the MLflow test fixture {match.group(1)!r}")
    return None


def rule_timeout(rec: dict[str, Any]) -> Verdict | None:
    exc = rec.get("exc") or {}
    if rec.get("timeout") or exc.get("type") == "ParityTimeout":
        return Verdict(DIFFERENT, f"timed out after {rec.get('timeout_s', '?')} s")
    if rec["outcome"] == "crashed":
        return Verdict(DIFFERENT, "the test process died (crash or hard timeout)")
    return None


def rule_import_error(rec: dict[str, Any]) -> Verdict | None:
    """ImportError / ModuleNotFoundError naming an mlflow module or name, or another package."""
    exc = rec.get("exc") or {}
    if exc.get("type") not in ("ImportError", "ModuleNotFoundError"):
        return None
    message = exc.get("message", "")
    module = _mlflow(exc.get("import_name") or "")
    cannot = re.search(r"cannot import name '(\w+)' from '([\w.]+)'", message)
    if cannot:
        return _category_verdict(f"{_mlflow(cannot.group(2))}.{cannot.group(1)}",
                                 name_category(f"{_mlflow(cannot.group(2))}.{cannot.group(1)}"), "imports")
    if module.startswith("mlflow"):
        return _category_verdict(module, name_category(module), "imports")
    if module:
        return Verdict(SET_ASIDE, f"needs the package {module.split('.')[0]!r} (not installed)")
    return None


def rule_mock_target(rec: dict[str, Any]) -> Verdict | None:
    """mock.patch of an mlflow target mlcask does not have."""
    exc = rec.get("exc") or {}
    match = _MOCK_TARGET.search(exc.get("message", ""))
    if exc.get("type") == "AttributeError" and match:
        name = f"{_mlflow(match.group(1))}.{match.group(2)}"
        category = patch_target_category(name)
        if category == PUBLIC:
            return _category_verdict(name, category, "patches")
        return Verdict(SET_ASIDE, f"patches MLflow internal {name}")
    return None


def rule_attribute_error(rec: dict[str, Any]) -> Verdict | None:
    """AttributeError on an mlcask module, class or object: the attribute is missing."""
    exc = rec.get("exc") or {}
    if exc.get("type") != "AttributeError" or not exc.get("attr_name"):
        return None
    attr, owner, kind = exc["attr_name"], exc.get("attr_owner") or "", exc.get("attr_kind")
    if attr.startswith("_mlflow"):
        return Verdict(SET_ASIDE, f"uses MLflow internal attribute {attr} (set by MLflow on other objects)")
    if not owner.startswith("mlcask"):
        return None  # None.x, a DataFrame's attribute...: a behaviour difference
    if kind == "module":
        name = f"{_mlflow(owner)}.{attr}"
    else:
        name = f"{owner.rsplit('.', 1)[-1]}.{attr}"
        if _private(attr):
            return Verdict(SET_ASIDE, f"uses MLflow internal attribute {name}")
        category = OUT_OF_SCOPE if _out_of_scope_name().search(attr) else PUBLIC
        return _category_verdict(name, category, "uses")
    return _category_verdict(name, name_category(name), "uses")


def rule_signature(rec: dict[str, Any]) -> Verdict | None:
    """TypeError raised at a call in the test's own code: mlcask's function lacks that signature."""
    exc = rec.get("exc") or {}
    if exc.get("type") != "TypeError" or not _SIGNATURE_ERROR.search(exc.get("message", "")):
        return None
    frames = exc.get("frames") or []
    if not frames or not frames[-1].get("in_tests"):
        return None  # raised inside mlcask or a library: a behaviour difference
    message = exc["message"]
    func = _CALLABLE.match(message)
    keyword = _KEYWORD.search(message)
    func_name = func.group(1) if func else "?"
    name = f"{func_name}({keyword.group(1)}=)" if keyword else f"{func_name}() signature"
    if keyword and (_private(keyword.group(1)) or _out_of_scope_name().search(keyword.group(1))):
        category = INTERNAL if _private(keyword.group(1)) else OUT_OF_SCOPE
        return _category_verdict(name, category, "calls")
    return Verdict(MISSING, f"calls {name}: {message.splitlines()[0][:160]}", name)


_PRIVATE_MLFLOW = re.compile(r"\bmlflow(\.\w+)*\._\w+")


def rule_subprocess_internal(rec: dict[str, Any]) -> Verdict | None:
    """A child process the test started ran MLflow internals (its command names one)."""
    exc = rec.get("exc") or {}
    match = _PRIVATE_MLFLOW.search(exc.get("message", ""))
    if exc.get("type") == "CalledProcessError" and match:
        return Verdict(SET_ASIDE, f"runs MLflow internal {match.group(0)} in a child process")
    return None


_CHILD_NO_MODULE = re.compile(r"No module named '?(mlflow[\w.]*?)'?[;\s]")


def rule_child_missing_module(rec: dict[str, Any]) -> Verdict | None:
    """A child process the test started (``python -m mlflow ...``) could not import an mlflow
    module: its output, quoted in the failure, names it."""
    exc = rec.get("exc") or {}
    if exc.get("type") in ("ImportError", "ModuleNotFoundError"):
        return None
    match = _CHILD_NO_MODULE.search(exc.get("message", "") + " ")
    if match:
        name = match.group(1)
        shown = "python -m mlflow (mlflow.__main__)" if name == "mlflow.__main__" else name
        category = name_category(name)
        if category == PUBLIC:
            return Verdict(MISSING, f"a child process needs {shown} (missing public name)", shown)
        return _category_verdict(name, category, "a child process needs")
    return None


def rule_version_number(rec: dict[str, Any]) -> Verdict | None:
    """An assertion on MLflow's own version number (``Version(mlflow.__version__) > ...``):
    mlcask has its own version, by design."""
    exc = rec.get("exc") or {}
    frames = exc.get("frames") or []
    if exc.get("type") == "AssertionError" and frames and "mlflow.__version__" in (frames[-1].get("code") or ""):
        return Verdict(SET_ASIDE, "asserts on MLflow's version number (mlflow.__version__)")
    return None


def rule_cause(rec: dict[str, Any]) -> Verdict | None:
    """An error mlcask raised *because of* a missing name (``raise ... from AttributeError(...)``)."""
    exc = (rec.get("exc") or {}).get("cause")
    while exc:
        inner = {**rec, "exc": exc}
        for rule in (rule_import_error, rule_attribute_error):
            verdict = rule(inner)
            if verdict is not None:
                return verdict
        exc = exc.get("cause")
    return None


def rule_not_implemented(rec: dict[str, Any]) -> Verdict | None:
    exc = rec.get("exc") or {}
    if exc.get("type") == "NotImplementedError":
        first = (exc.get("message") or "").splitlines()[0][:160] if exc.get("message") else ""
        return Verdict(MISSING, f"NotImplementedError: {first}", f"not implemented: {first[:80]}")
    return None


_PYTHON_ERROR_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Unavailable)): ?(.*)$", re.MULTILINE)


def _spark_reason(exc: dict[str, Any]) -> str | None:
    """For an error pyspark or py4j raised on the driver (``PythonException``, ``Py4JJavaError``):
    the last Python exception line of the worker's traceback it quotes, the one that says why."""
    if not (exc.get("module") or "").startswith(("pyspark", "py4j")):
        return None
    lines = _PYTHON_ERROR_LINE.findall(exc.get("message") or "")
    python = [(t, m) for t, m in lines if not t.startswith(("org.", "java.", "scala.", "py4j."))]
    if not python:
        return None
    kind, message = python[-1]
    return f"{exc.get('type')} from a Spark task: {kind}: {message.strip()[:200]}".rstrip(": ")


def rule_different(rec: dict[str, Any]) -> Verdict:
    """Anything else: behaviour or message differs."""
    exc = rec.get("exc") or {}
    phase = rec.get("phase") or "call"
    prefix = "" if phase == "call" else f"[{phase}] "
    spark_reason = _spark_reason(exc) if exc else None
    if spark_reason:
        return Verdict(DIFFERENT, prefix + spark_reason)
    if not exc:
        return Verdict(DIFFERENT, prefix + (rec.get("longrepr") or rec["outcome"]).strip().splitlines()[-1][:200])
    message = (exc.get("message") or "").strip()
    regex = re.search(r"(?:Expected regex|Regex): (.*)\n\s*(?:Actual message|Input): (.*)", message)
    if message.startswith("Regex pattern did not match") and regex:
        return Verdict(DIFFERENT, f"{prefix}message differs: expected {regex.group(1)[:120]}, "
                                  f"got {regex.group(2)[:160]}")
    first = message.splitlines()
    frames = exc.get("frames") or []
    if not first and frames:
        last = frames[-1]
        where = f"{last['file'].rsplit('/', 1)[-1]}:{last['line']}"
        return Verdict(DIFFERENT, f"{prefix}{exc.get('type')} at {where}: {last.get('code', '')}".rstrip(": "))
    return Verdict(DIFFERENT, f"{prefix}{exc.get('type')}: {first[0][:200] if first else ''}".rstrip(": "))


RULES: list[Callable[[dict[str, Any]], Verdict | None]] = [
    rule_passed, rule_skipped, rule_placeholder, rule_placeholder_in_message, rule_patched_internal, rule_fixture_missing,
    rule_timeout, rule_import_error, rule_mock_target, rule_attribute_error, rule_signature,
    rule_subprocess_internal, rule_child_missing_module, rule_version_number, rule_cause, rule_not_implemented,
]


def classify(rec: dict[str, Any]) -> Verdict:
    """The verdict for one test record (as the plugin writes it)."""
    for rule in RULES:
        verdict = rule(rec)
        if verdict is not None:
            return verdict
    return rule_different(rec)


_VOLATILE = [
    (re.compile(r"/tmp/\S+|/work/\S+|file://\S+|sqlite:///\S+"), "<path>"),
    (re.compile(r"\b[0-9a-f]{32}\b|\bm-[0-9a-f]{32}\b"), "<id>"),
    (re.compile(r"0x[0-9a-f]+"), "<addr>"),
]


def normalise(reason: str) -> str:
    """A reason with paths, ids and addresses blanked, for grouping like failures together."""
    for pattern, repl in _VOLATILE:
        reason = pattern.sub(repl, reason)
    return reason
