"""Template rendering: the sandbox, strict variables, bounded work, and the checks made at PUT and at schedule."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from scheduled_comms.logic.templates import (
    LOOP_ITERATIONS_PER_RENDER,
    RenderFailed,
    check_variables,
    compile_problems,
    render,
    schema_problems,
    variables_used,
)
from scheduled_comms.models.templates import MessageChannel, TemplateDefinition, TemplateParts

EMAIL = MessageChannel.EMAIL
SMS = MessageChannel.SMS
BRAND = {"name": "Acme Dental", "variables": {"phone": "+1 555 0100"}}


def parts(**channels: dict[str, object]) -> TemplateParts:
    return TemplateParts.model_validate(channels)


def definition(schema: dict[str, object] | None = None, **channels: dict[str, object]) -> TemplateDefinition:
    return TemplateDefinition(parts=parts(**channels), variables_schema=schema)


def test_renders_each_field_of_the_channel_with_variables_and_the_brand() -> None:
    template = parts(
        email={"subject": "Hi {{ first_name }}", "html": "<p>{{ brand.name }}: {{ when }}</p>", "text": "{{ when }}"},
        sms={"body": "{{ brand.name }} at {{ when }}; call {{ brand.variables.phone }}"},
    )

    email = render(template, EMAIL, {"first_name": "Ana", "when": "9:00"}, BRAND)
    sms = render(template, SMS, {"when": "9:00"}, BRAND)

    assert email == {"subject": "Hi Ana", "html": "<p>Acme Dental: 9:00</p>", "text": "9:00"}
    assert sms == {"body": "Acme Dental at 9:00; call +1 555 0100"}


def test_html_is_autoescaped_and_text_parts_are_not() -> None:
    template = parts(email={"subject": "{{ name }}", "html": "<b>{{ name }}</b>", "text": "{{ name }}"})

    rendered = render(template, EMAIL, {"name": "<script>Tom & Jerry</script>"}, BRAND)

    assert rendered["html"] == "<b>&lt;script&gt;Tom &amp; Jerry&lt;/script&gt;</b>"
    assert rendered["text"] == "<script>Tom & Jerry</script>"


def test_a_missing_variable_fails_the_render_naming_the_part() -> None:
    template = parts(sms={"body": "Hello {{ first_name }}"})

    with pytest.raises(RenderFailed) as failure:
        render(template, SMS, {}, BRAND)

    assert failure.value.field == "sms.body"
    assert "first_name" in failure.value.reason


def test_a_missing_attribute_inside_a_variable_fails_too() -> None:
    with pytest.raises(RenderFailed, match="missing"):
        render(parts(sms={"body": "{{ order.total }}"}), SMS, {"order": {}}, BRAND)


@pytest.mark.parametrize(
    ("source", "rule"),
    [
        ("{{ ''.__class__.__mro__ }}", "unsafe"),
        ("{{ 'x' * 100000000 }}", "repeats"),
        ("{{ [1] * 100000000 }}", "repeats"),
        ("{{ 10 ** 100000 }}", "power"),
        ("{{ '%0999999999d' % 1 }}", "width"),
        ("{{ '%.999999999f'|format(1) }}", "width"),
        ("{{ '{:>999999999}'.format(1) }}", "unsafe"),
        ("{% for a in range(10000) %}{% for b in range(10000) %}{% endfor %}{% endfor %}", "loops"),
        ("{% set x = [] %}{{ x.append(1) }}", "unsafe"),
    ],
)
def test_sandbox_rules_stop_a_hostile_template(source: str, rule: str) -> None:
    with pytest.raises(RenderFailed) as failure:
        render(parts(sms={"body": source}), SMS, {}, BRAND)

    assert failure.value.field == "sms.body"
    assert "template rule" in failure.value.reason
    assert rule in failure.value.reason


def test_loops_within_the_budget_render() -> None:
    source = "{% for i in items %}{{ i }},{% endfor %}"
    items = list(range(LOOP_ITERATIONS_PER_RENDER // 10))

    rendered = render(parts(in_app={"title": "List", "body": source}), MessageChannel.IN_APP, {"items": items}, BRAND)

    assert rendered["body"].count(",") == len(items)


def test_a_render_longer_than_the_field_allows_fails() -> None:
    with pytest.raises(RenderFailed, match="more than 1600 characters"):
        render(parts(sms={"body": "{{ text }}"}), SMS, {"text": "x" * 1601}, BRAND)


def test_a_subject_rendered_with_a_line_break_fails_rather_than_inject_a_header() -> None:
    template = parts(email={"subject": "Hi {{ name }}", "html": "x"})

    with pytest.raises(RenderFailed, match="line break"):
        render(template, EMAIL, {"name": "Ana\r\nBcc: victim@example.com"}, BRAND)


def test_compile_problems_name_each_broken_part_with_its_line() -> None:
    template = parts(email={"subject": "{{ unclosed", "html": "fine\n{% if %}"}, sms={"body": "ok {{ x }}"})

    problems = compile_problems(template)

    assert [problem.field for problem in problems] == ["parts.email.subject", "parts.email.html"]
    assert "line 1" in problems[0].message
    assert "line 2" in problems[1].message


def test_variables_used_lists_top_level_names_but_not_the_brand_or_loop_names() -> None:
    template = parts(
        email={"subject": "{{ a }} {{ brand.name }}", "html": "{% for item in items %}{{ item.b }}{% endfor %}"},
        sms={"body": "{{ c }}"},
    )

    assert variables_used(template, EMAIL) == {"a", "items"}
    assert variables_used(template, SMS) == {"c"}


def test_check_variables_names_each_missing_variable() -> None:
    template = definition(sms={"body": "{{ first_name }} {{ time }}"})

    problems = check_variables(template, SMS, {"time": "9"}, BRAND)

    assert [(problem.field, problem.message) for problem in problems] == [
        ("variables.first_name", "is required by the template")
    ]


def test_check_variables_applies_the_json_schema_with_paths() -> None:
    schema = {
        "type": "object",
        "properties": {"order": {"type": "object", "properties": {"total": {"type": "number"}}}},
        "required": ["order"],
    }
    template = definition(schema, sms={"body": "{{ order.total }}"})

    problems = check_variables(template, SMS, {"order": {"total": "ten"}}, BRAND)

    assert [problem.field for problem in problems] == ["variables.order.total"]
    assert "not of type 'number'" in problems[0].message


def test_check_variables_trial_render_finds_a_nested_missing_value() -> None:
    template = definition(sms={"body": "{{ order.total }}"})

    problems = check_variables(template, SMS, {"order": {"id": 1}}, BRAND)

    assert [problem.field for problem in problems] == ["variables"]
    assert "sms.body" in problems[0].message


def test_brand_is_a_reserved_variable_name() -> None:
    problems = check_variables(definition(sms={"body": "x"}), SMS, {"brand": "mine"}, BRAND)

    assert [problem.field for problem in problems] == ["variables.brand"]


def test_valid_variables_have_no_problems() -> None:
    template = definition({"type": "object", "required": ["name"]}, sms={"body": "Hi {{ name }}"})

    assert check_variables(template, SMS, {"name": "Ana"}, BRAND) == []


def test_schema_problems_refuse_an_invalid_schema() -> None:
    assert schema_problems({"type": "object"}) == []
    [problem] = schema_problems({"type": 12})
    assert problem.field == "variables_schema"


def test_a_template_must_give_at_least_one_channel() -> None:
    with pytest.raises(ValidationError, match="at least one channel"):
        TemplateParts.model_validate({})


@given(st.text(max_size=200))
def test_any_variable_text_renders_verbatim_in_text_parts_and_escaped_in_html(value: str) -> None:
    template = parts(email={"subject": "s", "html": "{{ v }}", "text": "{{ v }}"})

    rendered = render(template, EMAIL, {"v": value}, BRAND)

    assert rendered["text"] == value
    assert "<" not in rendered["html"] and ">" not in rendered["html"]


def test_regular_expressions_are_refused_in_a_variables_schema() -> None:
    schema = {
        "type": "object",
        "properties": {"code": {"type": "string", "pattern": "(a+)+$"}, "pattern": {"type": "string"}},
        "patternProperties": {"^x": {}},
    }

    problems = schema_problems(schema)

    assert sorted(problem.field for problem in problems) == [
        "variables_schema.patternProperties",
        "variables_schema.properties.code.pattern",
    ]


def test_a_schema_whose_reference_cannot_be_resolved_is_a_problem_not_a_crash() -> None:
    template = definition({"$ref": "https://schemas.example.com/never-fetched.json"}, sms={"body": "x"})

    [problem] = check_variables(template, SMS, {}, BRAND)

    assert problem.field == "variables" and "$ref that does not resolve" in problem.message
