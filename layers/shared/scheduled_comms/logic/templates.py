"""Rendering message templates: Jinja2's immutable sandbox, undefined variables as errors, bounded work.

A template is code a client wrote and the tick runs, so besides the sandbox's rules (no private attributes,
no mutation of what it is given) rendering is bounded: loops share a budget of iterations, repetition and
power operators and printf-style widths are capped, and each rendered field has a length limit. A template
that breaks any of these fails with ``RenderFailed``, never sends something partial.

What a template may read: the message's ``variables`` at the top level, and the brand as ``brand``
(``brand.name``, ``brand.variables.<name>``).
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import lru_cache
from typing import Any

import jinja2
from jinja2 import meta, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from scheduled_comms.errors import FieldError
from scheduled_comms.models.templates import MessageChannel, TemplateDefinition, TemplateParts

BRAND_NAME = "brand"
LOOP_ITERATIONS_PER_RENDER = 10_000
MAX_REPEAT = 10_000  # the longest `"x" * n` or `[..] * n`
MAX_FORMAT_WIDTH = 100  # widths and precisions in `"%05d" % n`
# The longest text each rendered field may have, and whether it is one line (a mail header, a title).
RENDER_LIMITS: dict[str, tuple[int, bool]] = {
    "email.subject": (998, True),
    "email.html": (100_000, False),
    "email.text": (100_000, False),
    "sms.body": (1_600, False),
    "push.title": (200, True),
    "push.body": (2_000, False),
    "push.data": (1_000, False),
    "push.badge": (4, True),
    "push.sound": (100, True),
    "in_app.title": (200, True),
    "in_app.body": (10_000, False),
    "in_app.action_url": (2_000, True),
}
_AUTOESCAPED = {"email.html"}
_FORMAT_SPEC = re.compile(r"%[#0 +-]*(\d*)(?:\.(\d*))?")


class RenderFailed(Exception):
    """A template could not be rendered with what it was given; ``field`` names the part, ``reason`` says why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


_loop_budget: contextvars.ContextVar[list[int]] = contextvars.ContextVar("template_loop_budget")


def _bounded_iter(value: Any) -> Iterator[Any]:
    """Every loop's iterable passes through here, so all loops of one render share one budget."""
    budget = _loop_budget.get()
    for item in value:
        budget[0] -= 1
        if budget[0] < 0:
            raise SecurityError(f"loops ran more than {LOOP_ITERATIONS_PER_RENDER} times")
        yield item


def _check_format(spec: str) -> None:
    for width, precision in _FORMAT_SPEC.findall(spec):
        if int(width or 0) > MAX_FORMAT_WIDTH or int(precision or 0) > MAX_FORMAT_WIDTH:
            raise SecurityError(f"a format width or precision is over {MAX_FORMAT_WIDTH}")


def _format_filter(value: Any, *args: Any, **kwargs: Any) -> str:
    _check_format(str(value))
    return str(jinja2.filters.do_format(value, *args, **kwargs))


class _BoundedSandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "%"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for sequence, count in ((left, right), (right, left)):
                if isinstance(sequence, str | list | tuple) and isinstance(count, int) and count > MAX_REPEAT:
                    raise SecurityError(f"repeats a sequence more than {MAX_REPEAT} times")
        elif operator == "**":
            if isinstance(right, int | float) and abs(right) > 100:
                raise SecurityError("raises to a power over 100")
        elif isinstance(left, str):
            _check_format(left)
        return super().call_binop(context, operator, left, right)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        # `str.format` can ask for any width; templates format with the `format` filter, which is checked.
        if super().wrap_str_format(value) is None:
            return None

        def refused(*args: Any, **kwargs: Any) -> str:
            raise SecurityError("str.format is unsafe here; use the format filter")

        return refused


@lru_cache(maxsize=2)
def _environment(autoescape: bool) -> _BoundedSandbox:
    environment = _BoundedSandbox(undefined=jinja2.StrictUndefined, autoescape=autoescape, keep_trailing_newline=True)
    environment.filters["format"] = _format_filter
    environment.filters["_bounded_iter"] = _bounded_iter
    return environment


def _parse(source: str, autoescape: bool) -> nodes.Template:
    """The template's syntax tree, every loop's iterable passed through ``_bounded_iter``."""
    tree = _environment(autoescape).parse(source)
    for loop in tree.find_all(nodes.For):
        loop.iter = nodes.Filter(loop.iter, "_bounded_iter", [], [], None, None, lineno=loop.lineno)
    return tree


@lru_cache(maxsize=512)
def _compiled(source: str, autoescape: bool) -> jinja2.Template:
    return _environment(autoescape).from_string(_parse(source, autoescape))


def _fields(parts: TemplateParts, channel: MessageChannel) -> dict[str, str]:
    return {f"{channel.value}.{name}": source for name, source in parts.sources(channel).items()}


def _limit_key(field: str) -> str:
    return "push.data" if field.startswith("push.data.") else field


def compile_problems(parts: TemplateParts) -> list[FieldError]:
    """One error per part that does not compile (its line and Jinja's reason), fields named ``parts.<channel>.*``."""
    problems = []
    for channel in parts.channels():
        for field, source in _fields(parts, channel).items():
            try:
                _compiled(source, field in _AUTOESCAPED)
            except jinja2.TemplateSyntaxError as exc:
                problems.append(FieldError(f"parts.{field}", f"does not compile: line {exc.lineno}: {exc.message}"))
    return problems


def variables_used(parts: TemplateParts, channel: MessageChannel) -> set[str]:
    """The top-level names the channel's parts read (``brand`` excluded: the brand supplies it)."""
    names: set[str] = set()
    for field, source in _fields(parts, channel).items():
        names |= meta.find_undeclared_variables(_parse(source, field in _AUTOESCAPED))
    return names - {BRAND_NAME}


def render(
    parts: TemplateParts, channel: MessageChannel, variables: Mapping[str, Any], brand: Mapping[str, Any]
) -> dict[str, str]:
    """The channel's parts rendered, by field name (``subject``, ``html``, ``data.<key>`` ...).

    Raises ``RenderFailed`` naming the first part that reads something missing, breaks a sandbox rule,
    exceeds a limit, or does not compile."""
    context = {**variables, BRAND_NAME: brand}
    rendered: dict[str, str] = {}
    for field, source in _fields(parts, channel).items():
        limit, one_line = RENDER_LIMITS[_limit_key(field)]
        token = _loop_budget.set([LOOP_ITERATIONS_PER_RENDER])
        try:
            text = _joined(_compiled(source, field in _AUTOESCAPED).generate(context), limit)
        except jinja2.UndefinedError as exc:
            raise RenderFailed(field, f"reads a variable that is missing: {exc.message}") from None
        except SecurityError as exc:
            raise RenderFailed(field, f"breaks a template rule: {exc}") from None
        except jinja2.TemplateSyntaxError as exc:
            raise RenderFailed(field, f"does not compile: line {exc.lineno}: {exc.message}") from None
        except _TooLong:
            raise RenderFailed(field, f"renders to more than {limit} characters") from None
        except (ArithmeticError, TypeError, ValueError, LookupError, AttributeError) as exc:
            raise RenderFailed(field, f"fails: {type(exc).__name__}: {exc}") from None
        finally:
            _loop_budget.reset(token)
        if one_line and ("\n" in text or "\r" in text):
            raise RenderFailed(field, "renders with a line break, which this field cannot hold")
        rendered[field.split(".", 1)[1]] = text
    return rendered


class _TooLong(Exception):
    pass


def _joined(chunks: Iterable[str], limit: int) -> str:
    collected: list[str] = []
    length = 0
    for chunk in chunks:
        length += len(chunk)
        if length > limit:
            raise _TooLong
        collected.append(chunk)
    return "".join(collected)


def check_variables(
    definition: TemplateDefinition,
    channel: MessageChannel,
    variables: Mapping[str, Any],
    brand: Mapping[str, Any],
) -> list[FieldError]:
    """What is wrong with a message's variables for this template, fields named ``variables.<name>``.

    Checked when a message is scheduled: the template's ``variables_schema``, every name the parts read, and
    a trial render (which finds what the names alone cannot: a missing ``order.total`` inside ``order``)."""
    import jsonschema
    import referencing.exceptions

    problems = []
    if BRAND_NAME in variables:
        problems.append(FieldError(f"variables.{BRAND_NAME}", "is reserved: templates read the brand as `brand`"))
    if definition.variables_schema is not None:
        validator = jsonschema.Draft202012Validator(definition.variables_schema)
        try:
            errors = sorted(validator.iter_errors(dict(variables)), key=lambda error: list(error.absolute_path))
        except referencing.exceptions.Unresolvable:
            reason = "cannot be checked: the template's variables_schema has a $ref that does not resolve"
            return [FieldError("variables", reason + " (remote schemas are never fetched)")]
        except (jsonschema.exceptions.SchemaError, RecursionError) as exc:
            reason = f"cannot be checked with the template's variables_schema ({type(exc).__name__})"
            return [FieldError("variables", reason)]
        for error in errors:
            path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path)
            problems.append(FieldError(f"variables{path}", error.message))
    missing = sorted(variables_used(definition.parts, channel) - set(variables))
    problems += [FieldError(f"variables.{name}", "is required by the template") for name in missing]
    if not problems:
        try:
            render(definition.parts, channel, variables, brand)
        except RenderFailed as exc:
            problems.append(FieldError("variables", f"the template's {exc.field} {exc.reason}"))
    return problems


def _pattern_keywords(schema: Any, path: str) -> Iterator[str]:
    """Where a schema uses ``pattern`` or ``patternProperties`` (a property merely named so is not counted)."""
    if isinstance(schema, dict):
        for name, value in schema.items():
            if (name == "pattern" and isinstance(value, str)) or (
                name == "patternProperties" and isinstance(value, dict)
            ):
                yield f"{path}.{name}"
            yield from _pattern_keywords(value, f"{path}.{name}")
    elif isinstance(schema, list):
        for index, value in enumerate(schema):
            yield from _pattern_keywords(value, f"{path}[{index}]")


def schema_problems(schema: Mapping[str, Any]) -> list[FieldError]:
    """Whether a ``variables_schema`` is a valid JSON Schema the service will run (checked at PUT).

    Regular expressions are refused: Python's engine can take exponential time on some of them (``(a+)+$``),
    and the schema runs on every message scheduled."""
    import jsonschema

    found = [
        FieldError(
            where, "regular expressions are not supported in variables_schema (use enum, format, minLength/maxLength)"
        )
        for where in _pattern_keywords(schema, "variables_schema")
    ]
    if found:
        return found
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        return [FieldError("variables_schema", f"is not a valid JSON Schema: {exc.message}")]
    except (RecursionError, ValueError, TypeError, OverflowError) as exc:
        return [FieldError("variables_schema", f"is not a schema the service can check ({type(exc).__name__})")]
    return []
