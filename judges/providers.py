"""Asking Anthropic and OpenAI for a structured judgement, with our own retries.

Both SDKs are built with `max_retries=0` and this module retries instead: the batch runner needs one
retry policy for both providers (429, 5xx and timeouts; exponential backoff with jitter; honour
`retry-after`), and tests need to see every attempt. Keys come from the environment or
`.streamlit/secrets.toml`; they are handed to the SDK and never logged or stored.
"""

from __future__ import annotations

import os
import random
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anthropic
import httpx2
import openai
import orjson

from judges.prompt import Prompt
from judges.spec import JudgeSpec

SECRETS_PATH = Path(__file__).resolve().parent.parent / ".streamlit" / "secrets.toml"
KEY_NAMES = {"anthropic": "ANTHROPIC_API_KEY", "openai": "OPENAI_API_KEY"}
TOOL_NAME = "record_judgement"
MAX_ATTEMPTS = 4
BASE_DELAY_S = 1.0
MAX_DELAY_S = 30.0
REQUEST_TIMEOUT_S = 60.0


class MissingKey(RuntimeError):
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


def is_retryable(error: Exception) -> bool:
    """Rate limits, server errors and timeouts pass; anything else would fail again the same way."""
    if isinstance(error, anthropic.APITimeoutError | openai.APITimeoutError):
        return True
    status = getattr(error, "status_code", None)
    return isinstance(error, anthropic.APIStatusError | openai.APIStatusError) and (status == 429 or status >= 500)


def retry_delay(error: Exception, attempt: int) -> float:
    """Seconds to wait before attempt `attempt + 1`: the server's `retry-after` when it gives one,
    else exponential backoff with jitter so concurrent workers do not retry in step."""
    response = getattr(error, "response", None)
    retry_after = response.headers.get("retry-after") if response is not None else None
    try:
        return min(float(retry_after), MAX_DELAY_S)
    except (TypeError, ValueError):
        return min(BASE_DELAY_S * 2**attempt * (0.5 + random.random()), MAX_DELAY_S)


def with_retries(ask: Ask, sleep: Callable[[float], None] = time.sleep) -> Ask:
    """`ask`, tried up to MAX_ATTEMPTS times while it fails in a retryable way."""

    def ask_with_retries(prompt: Prompt) -> Reply:
        attempt = 0
        while True:
            try:
                return ask(prompt)
            except Exception as error:
                if attempt + 1 == MAX_ATTEMPTS or not is_retryable(error):
                    raise
                sleep(retry_delay(error, attempt))
                attempt += 1

    return ask_with_retries


def ask_anthropic(client: anthropic.Anthropic, spec: JudgeSpec) -> Ask:
    """Claude, forced to answer through one tool whose input schema is the judge's output schema."""
    tool = {
        "name": TOOL_NAME,
        "description": "Record your judgement of the call.",
        "input_schema": spec.output_schema,
    }

    def ask(prompt: Prompt) -> Reply:
        message = client.messages.create(
            model=spec.model,
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
    response_format = {
        "type": "json_schema",
        "json_schema": {"name": "judgement", "strict": True, "schema": spec.output_schema},
    }
    extra = {} if spec.temperature is None else {"temperature": spec.temperature}

    def ask(prompt: Prompt) -> Reply:
        completion = client.chat.completions.create(
            model=spec.model,
            max_completion_tokens=spec.max_output_tokens,
            messages=[{"role": "system", "content": prompt.system}, {"role": "user", "content": prompt.user}],
            response_format=response_format,
            **extra,
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


def make_ask(
    spec: JudgeSpec,
    key: str,
    http_client: httpx2.Client | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Ask:
    """A thread-safe, retrying `Ask` for the judge's provider (one SDK client shared by all workers)."""
    common = {"api_key": key, "max_retries": 0, "timeout": REQUEST_TIMEOUT_S, "http_client": http_client}
    if spec.provider == "anthropic":
        return with_retries(ask_anthropic(anthropic.Anthropic(**common), spec), sleep)
    if spec.provider == "openai":
        return with_retries(ask_openai(openai.OpenAI(**common), spec), sleep)
    raise ValueError(f"The {spec.provider!r} judge asks no provider.")


def default_judge(judges: list[JudgeSpec], secrets_path: Path | None = None) -> JudgeSpec:
    """The first LLM judge whose provider has a key, else the offline rules judge: with no key set,
    a fresh install still gets real pre-annotations."""
    for spec in judges:
        if spec.provider in KEY_NAMES and api_key(spec.provider, secrets_path):
            return spec
    return next(spec for spec in judges if spec.provider == "rules")
