"""Asking Anthropic and OpenAI for a structured judgement, retried by the SDKs themselves.

Each SDK retries on its own (connection errors, timeouts, 408, 409, 429 and 5xx, honouring
`retry-after`, `retry-after-ms` and `x-should-retry`, with exponential backoff and jitter); we set
its policy (MAX_RETRIES, REQUEST_TIMEOUT_S) and only make one thing sane first: a server's wait that
is not a finite number is dropped, so the SDK falls back to its backoff, and a longer one is capped
at MAX_RETRY_AFTER_S, so one worker is never parked for hours. Keys come from the environment or
`.streamlit/secrets.toml`; they are handed to the SDK and never logged or stored, and `mask_keys`
takes them (and anything shaped like a key) out of provider error text before it is kept.
"""

from __future__ import annotations

import email.utils
import importlib.util
import math
import os
import re
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from judges.prompt import Prompt
from judges.spec import JudgeSpec
from warehouse.errors import CallboardError

if TYPE_CHECKING:  # the SDKs come with the `llm` extra, imported when a judge asks a provider
    import anthropic
    import httpx2
    import openai
    from anthropic.types import ToolParam
    from openai.types.shared_params import ResponseFormatJSONSchema

SECRETS_PATH = Path(__file__).resolve().parent.parent / ".streamlit" / "secrets.toml"
KEY_NAMES = {"anthropic": "ANTHROPIC_API_KEY", "openai": "OPENAI_API_KEY"}
TOOL_NAME = "record_judgement"
MAX_RETRIES = 3  # four attempts in all
REQUEST_TIMEOUT_S = 60.0
MAX_RETRY_AFTER_S = 60.0
MASK = "[masked]"
LLM_EXTRA = ".venv/bin/pip install -e '.[llm]'"
# Shapes of secrets a provider may echo: the value after "Bearer" or after a field named like a
# credential (`api_key=`, `"x-api-key": "`, `token: `), provider keys (sk-..., sk-ant-...,
# sk-proj-...), and any run of 32 or more letters and digits that mixes both.
KEY_SHAPES = re.compile(
    r"(?P<lead>(?i:(?:api[_-]?key|authorization|token|secret|password)[\"']?\s*[:=]\s*[\"']?(?:bearer\s+)?"
    r"|bearer\s+))"
    r"[^\s\"',;}&]{6,}"
    r"|sk-[A-Za-z0-9_-]{6,}"
    r"|\b(?=[A-Za-z0-9_-]*[0-9])(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{32,}\b"
)


class MissingKey(CallboardError):
    """The judge needs a provider key that is neither in the environment nor readable from secrets.toml."""


@dataclass(frozen=True)
class Reply:
    """A provider's answer: the structured output it claims (None with `problem` when there is none
    usable) and the tokens it billed either way."""

    output: Any
    problem: str | None
    input_tokens: int
    output_tokens: int


Ask = Callable[[Prompt], Reply]


def api_key(provider: str, secrets_path: Path | None = None) -> str | None:
    """The provider's key from its environment variable, else from Streamlit's secrets file."""
    name = KEY_NAMES[provider]
    secrets_path = secrets_path or SECRETS_PATH
    if os.environ.get(name):
        return os.environ[name]
    if secrets_path.is_file():
        try:
            value = tomllib.loads(secrets_path.read_text()).get(name)
        except tomllib.TOMLDecodeError as error:
            raise MissingKey(f"{secrets_path} is not valid TOML ({error}), so no key could be read from it.") from None
        if isinstance(value, str) and value:
            return value
    return None


def _configured_keys() -> list[str]:
    """Every provider key this process could send (an unreadable secrets file holds none we could use)."""
    keys = []
    for provider in KEY_NAMES:
        try:
            keys.append(api_key(provider))
        except MissingKey:
            continue
    return [key for key in keys if key]


def mask_keys(text: str) -> str:
    """`text` with the configured provider keys, and anything shaped like a key, replaced by MASK.

    Provider error bodies can echo the key they were sent ("Incorrect API key provided: sk-...");
    the error is stored in `judgements.error`, printed and exported, so it is masked first. The
    exact keys go first, whatever their shape; the shapes catch keys we were never given."""
    for key in _configured_keys():
        text = text.replace(key, MASK)
    return KEY_SHAPES.sub(lambda match: (match["lead"] or "") + MASK, text)


def _server_wait_s(headers: httpx2.Headers) -> float | None:
    """The wait a response asks for, read as the SDKs read it: `retry-after-ms`, else `retry-after`
    in seconds or as an HTTP date; None when it asks for none."""
    for name, per_second in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return float(value) / per_second
        except ValueError:
            continue
    when = email.utils.parsedate_tz(headers.get("retry-after", ""))
    return None if when is None else email.utils.mktime_tz(when) - time.time()


def bound_server_wait(response: httpx2.Response) -> None:
    """An httpx response hook: hand the SDK a server's wait only as a finite number of seconds,
    at most MAX_RETRY_AFTER_S. `retry-after: NaN` or `inf` is dropped (Anthropic's SDK would sleep
    for 49 days on `inf`), so the SDK uses its own backoff and the retries still happen."""
    wait = _server_wait_s(response.headers)
    if wait is None:
        return
    for name in ("retry-after-ms", "retry-after"):
        if name in response.headers:
            del response.headers[name]
    if math.isfinite(wait) and wait > 0:
        response.headers["retry-after-ms"] = str(min(wait, MAX_RETRY_AFTER_S) * 1000)


def _model(spec: JudgeSpec) -> str:
    """The model an LLM judge names (judges/spec.py requires one for every LLM provider)."""
    assert spec.model is not None, f"judge {spec.name} has no model"
    return spec.model


def ask_anthropic(client: anthropic.Anthropic, spec: JudgeSpec) -> Ask:
    """Claude, forced to answer through one tool whose input schema is the judge's output schema."""
    tool: ToolParam = {
        "name": TOOL_NAME,
        "description": "Record your judgement of the call.",
        "input_schema": spec.output_schema,
    }
    model = _model(spec)

    def ask(prompt: Prompt) -> Reply:
        message = client.messages.create(
            model=model,
            max_tokens=spec.max_output_tokens,
            system=prompt.system,
            messages=[{"role": "user", "content": prompt.user}],
            tools=[tool],
            tool_choice={"type": "tool", "name": TOOL_NAME},
        )
        tokens = (message.usage.input_tokens, message.usage.output_tokens)
        for block in message.content:
            if block.type == "tool_use" and block.name == TOOL_NAME:
                return Reply(block.input, None, *tokens)
        return Reply(None, f"The reply did not use the {TOOL_NAME} tool (stop reason {message.stop_reason}).", *tokens)

    return ask


def ask_openai(client: openai.OpenAI, spec: JudgeSpec) -> Ask:
    """GPT with a strict JSON-schema response format; the content must still parse and validate."""
    from openai import omit

    response_format: ResponseFormatJSONSchema = {
        "type": "json_schema",
        "json_schema": {"name": "judgement", "strict": True, "schema": spec.output_schema},
    }
    model = _model(spec)

    def ask(prompt: Prompt) -> Reply:
        completion = client.chat.completions.create(
            model=model,
            max_completion_tokens=spec.max_output_tokens,
            messages=[{"role": "system", "content": prompt.system}, {"role": "user", "content": prompt.user}],
            response_format=response_format,
            temperature=omit if spec.temperature is None else spec.temperature,
        )
        usage = completion.usage
        tokens = (usage.prompt_tokens, usage.completion_tokens) if usage else (0, 0)
        message = completion.choices[0].message
        if message.refusal:
            return Reply(None, f"The model refused: {message.refusal}", *tokens)
        try:
            return Reply(orjson.loads(message.content or ""), None, *tokens)
        except orjson.JSONDecodeError as error:
            finish = completion.choices[0].finish_reason
            return Reply(None, f"The reply is not valid JSON ({error}; finish reason {finish}).", *tokens)

    return ask


def llm_sdks_installed() -> bool:
    """Whether the `llm` extra is installed (checked without importing the SDKs, which are slow to load)."""
    return all(importlib.util.find_spec(sdk) is not None for sdk in ("anthropic", "openai"))


def make_ask(spec: JudgeSpec, key: str, transport: httpx2.BaseTransport | None = None) -> Ask:
    """A thread-safe `Ask` for the judge's provider (one SDK client shared by all workers), retried
    by the SDK under our policy. `transport` replaces the network (tests use a mock one)."""
    try:
        import anthropic
        import openai
    except ModuleNotFoundError:
        raise CallboardError(f"The LLM judges need the Anthropic and OpenAI SDKs, which `make run` leaves out: "
                             f"install them with `{LLM_EXTRA}` (`make test` installs them).") from None
    policy: dict[str, Any] = {"api_key": key, "max_retries": MAX_RETRIES, "timeout": REQUEST_TIMEOUT_S}
    http: dict[str, Any] = {"event_hooks": {"response": [bound_server_wait]}}
    if transport is not None:
        http["transport"] = transport
    if spec.provider == "anthropic":
        return ask_anthropic(anthropic.Anthropic(**policy, http_client=anthropic.DefaultHttpxClient(**http)), spec)
    if spec.provider == "openai":
        return ask_openai(openai.OpenAI(**policy, http_client=openai.DefaultHttpxClient(**http)), spec)
    raise ValueError(f"The {spec.provider!r} judge asks no provider.")


def default_judge(judges: list[JudgeSpec], secrets_path: Path | None = None) -> JudgeSpec:
    """The first LLM judge whose provider has a key, else the offline rules judge: with no key set,
    a fresh install still gets real pre-annotations."""
    for spec in judges:
        if spec.provider in KEY_NAMES and api_key(spec.provider, secrets_path):
            return spec
    return next(spec for spec in judges if spec.provider == "rules")
