"""Judges are data: one TOML file per judge in this folder. The file holds everything that decides
a verdict (provider, model, prompt, labels, output schema, rule thresholds), so its version is a
hash of its bytes: edit anything and the next run is a new judge version, judged afresh, while the
old version's judgements stay comparable in calibration."""

from __future__ import annotations

import copy
import hashlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any

from warehouse.errors import CallboardError

JUDGES_DIR = Path(__file__).resolve().parent
PROVIDERS = ("rules", "anthropic", "openai")
# What judges/prompt.py fills a prompt template with; any other `$name` would fail at run time.
PROMPT_FIELDS = ("call", "transcript", "tool_calls", "labels")


class JudgeSpecError(CallboardError):
    """A judge file is missing or does not say what a judge needs."""


@dataclass(frozen=True)
class JudgeSpec:
    name: str
    version: str
    provider: str
    model: str | None
    description: str
    labels: tuple[str, ...]
    system: str = ""
    prompt: str = ""
    output_schema: dict[str, Any] = field(default_factory=dict)
    max_output_tokens: int = 1024
    temperature: float | None = None
    rules: dict[str, Any] = field(default_factory=dict)


def judge_version(content: bytes) -> str:
    """A short, stable name for one exact judge file."""
    return hashlib.sha256(content).hexdigest()[:12]


def _rules_code() -> bytes:
    """The rule-based judge's behaviour lives in code as well as in its file: an edit to either is a
    new version, so calls are judged again by the changed rules."""
    here = Path(__file__).resolve().parent
    return b"".join((here / name).read_bytes() for name in ("rules.py", "facts.py"))


def _require(data: dict[str, Any], key: str, path: Path) -> Any:
    if key not in data:
        raise JudgeSpecError(f"The judge file {path.name} has no `{key}`.")
    return data[key]


def _schema_with_labels(schema: dict[str, Any], labels: tuple[str, ...], path: Path) -> dict[str, Any]:
    """The output schema with `labels` as the only values its labels array accepts: the file lists
    the labels once and the schema the provider enforces can never disagree with it."""
    schema = copy.deepcopy(schema)
    try:
        schema["properties"]["labels"]["items"]["enum"] = list(labels)
    except (KeyError, TypeError) as error:
        raise JudgeSpecError(f"The output schema in {path.name} has no `labels` array of items.") from error
    return schema


def _checked_prompt(prompt: Any, path: Path) -> str:
    """The prompt template, refused at load time if filling it in would fail during a run: a stray
    `$` (write `$$` for a dollar sign) or a `$name` the prompt builder does not supply."""
    if not isinstance(prompt, str):
        raise JudgeSpecError(f"The prompt in {path.name} must be text.")
    template = Template(prompt)
    if not template.is_valid():
        raise JudgeSpecError(
            f"The prompt in {path.name} has a `$` that is not a placeholder; write `$$` for a dollar sign."
        )
    if unknown := sorted(set(template.get_identifiers()) - set(PROMPT_FIELDS)):
        raise JudgeSpecError(
            f"The prompt in {path.name} uses ${', $'.join(unknown)}; a prompt can only use "
            f"${', $'.join(PROMPT_FIELDS)}."
        )
    return prompt


def _max_output_tokens(data: dict[str, Any], path: Path) -> int:
    value = data.get("max_output_tokens", 1024)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise JudgeSpecError(f"max_output_tokens in {path.name} must be a whole number of at least 1, not {value!r}.")
    return value


def load_judge_file(path: Path) -> JudgeSpec:
    """Read and check one judge file."""
    try:
        content = path.read_bytes()
    except FileNotFoundError as error:
        raise JudgeSpecError(f"There is no judge file {path}.") from error
    try:
        data = tomllib.loads(content.decode())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise JudgeSpecError(f"The judge file {path.name} is not valid TOML: {error}") from error
    provider = _require(data, "provider", path)
    if provider not in PROVIDERS:
        raise JudgeSpecError(f"{path.name}: provider must be one of {', '.join(PROVIDERS)}, not {provider!r}.")
    labels = tuple(_require(data, "labels", path))
    fields: dict[str, Any] = {
        "name": _require(data, "name", path),
        "version": judge_version(content + (_rules_code() if provider == "rules" else b"")),
        "provider": provider,
        "model": data.get("model"),
        "description": data.get("description", ""),
        "labels": labels,
        "max_output_tokens": _max_output_tokens(data, path),
        "temperature": data.get("temperature"),
        "rules": data.get("rules", {}),
    }
    if provider != "rules":
        fields["model"] = _require(data, "model", path)
        fields["system"] = _require(data, "system", path)
        fields["prompt"] = _checked_prompt(_require(data, "prompt", path), path)
        fields["output_schema"] = _schema_with_labels(_require(data, "output_schema", path), labels, path)
    return JudgeSpec(**fields)


def judge_files(directory: Path = JUDGES_DIR) -> list[Path]:
    return sorted(directory.glob("*.toml"))


def load_judge(name: str, directory: Path = JUDGES_DIR) -> JudgeSpec:
    """The judge called `name` (its file is `<name>.toml`)."""
    path = directory / f"{name}.toml"
    if not path.exists():
        known = ", ".join(p.stem for p in judge_files(directory)) or "none"
        raise JudgeSpecError(f"There is no judge called {name!r}. Judges: {known}.")
    return load_judge_file(path)


def all_judges(directory: Path = JUDGES_DIR) -> list[JudgeSpec]:
    return [load_judge_file(path) for path in judge_files(directory)]
