"""`{variable}` templates: strict by default, literal braces, declared variables."""

import pytest

from llm_persona import MissingVariablesError, Persona, PersonaDefinitionError, Variable


def test_placeholders_fill_every_text_field() -> None:
    p = Persona(
        name="Maya",
        role="{dept} Specialist",
        company="{company}",
        tone="{tone}",
        capabilities=["Help {user_name}"],
        constraints=["Never email {user_name}"],
        custom_sections={"ctx": "Today is {day}."},
    )
    text = p.build_system_prompt(dept="Support", company="Acme", tone="warm", user_name="John", day="Monday")
    assert text == (
        "You are Maya, a Support Specialist at Acme.\n\nTone: warm\n\nYou can:\n- Help John\n\n"
        "Do not:\n- Never email John\n\nToday is Monday."
    )


def test_seed_template_call() -> None:
    p = Persona(name="Maya", role="agent", company="{company}", custom_sections={"u": "User: {user_name}"})
    assert p.build_system_prompt(company="Acme", user_name="John").splitlines()[0] == (
        "You are Maya, a agent at Acme."
    )


def test_missing_variables_raise_one_error_naming_all_of_them() -> None:
    p = Persona(
        name="Maya",
        role="R",
        capabilities=["Help {user_name}"],
        custom_sections={"ctx": "About {topic} for {user_name}"},
    )
    with pytest.raises(MissingVariablesError) as info:
        p.build_system_prompt(unrelated="x")
    err = info.value
    assert err.persona == "Maya"
    assert err.missing == {
        "user_name": ["capabilities[0]", "custom_sections.ctx"],
        "topic": ["custom_sections.ctx"],
    }
    assert str(err) == (
        "Missing variables {topic, user_name} for persona 'Maya' (capabilities[0], custom_sections.ctx). "
        "Pass them to build_system_prompt() or declare defaults under 'variables:'."
    )


def test_double_braces_and_other_braces_are_literal() -> None:
    section = 'Answer as JSON: {"name": "x", "tags": [1]} or {{user_name}} or { spaced } or {0} or {a.b}'
    p = Persona(name="J", role="R", custom_sections={"fmt": section})
    assert p.build_system_prompt().endswith(
        'Answer as JSON: {"name": "x", "tags": [1]} or {user_name} or { spaced } or {0} or {a.b}'
    )


def test_values_are_not_re_expanded() -> None:
    p = Persona(name="J", role="R", custom_sections={"u": "Hi {user}"})
    assert p.build_system_prompt(user="{secret}").endswith("Hi {secret}")


def test_declared_defaults_fill_and_passed_values_win() -> None:
    p = Persona(
        name="J",
        role="R",
        custom_sections={"u": "Plan: {plan}"},
        variables={"plan": {"default": "free", "description": "billing plan"}},
    )
    assert p.build_system_prompt().endswith("Plan: free")
    assert p.build_system_prompt(plan="pro").endswith("Plan: pro")
    assert p.variables["plan"] == Variable(description="billing plan", default="free")


def test_optional_variable_without_default_renders_empty() -> None:
    p = Persona(
        name="J", role="R", custom_sections={"u": "Note:{note}"}, variables={"note": {"required": False}}
    )
    assert p.build_system_prompt().endswith("Note:")


def test_required_variable_with_default_still_needs_a_value() -> None:
    p = Persona(
        name="J", role="R", custom_sections={"u": "{x}"}, variables={"x": {"default": "d", "required": True}}
    )
    with pytest.raises(MissingVariablesError):
        p.build_system_prompt()
    assert p.build_system_prompt(x="v").endswith("v")


def test_lenient_modes_are_opt_in() -> None:
    p = Persona(name="J", role="R", custom_sections={"u": "Hi {user}!"})
    assert p.render(missing="keep").text.endswith("Hi {user}!")
    assert p.render(missing="empty").text.endswith("Hi !")


def test_greeting_is_templated() -> None:
    p = Persona(name="J", role="R", greeting="Hi {user}, I'm J.")
    assert p.build_greeting(user="Ann") == "Hi Ann, I'm J."
    with pytest.raises(MissingVariablesError, match="greeting"):
        p.build_greeting()
    assert Persona(name="K", role="R").build_greeting() is None


def test_name_is_never_a_template() -> None:
    assert Persona(name="{odd}", role="R").build_system_prompt().startswith("You are {odd}, a R.")


def test_cache_order_puts_static_text_first() -> None:
    p = Persona(
        name="J",
        role="R",
        capabilities=["Help {user}"],
        custom_sections={"static": "Be kind.", "session": "Session {sid}"},
    )
    rendered = p.render({"user": "A", "sid": "9"}, order="cache")
    assert (
        rendered.text
        == "You are J, a R.\n\nTone: helpful and professional\n\nBe kind.\n\nYou can:\n- Help A\n\nSession 9"
    )
    assert rendered.static_prefix == "You are J, a R.\n\nTone: helpful and professional\n\nBe kind."
    assert rendered.text.startswith(rendered.static_prefix)


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"capabilities": "Look up orders"}, "'capabilities' must be a list of strings"),
        ({"constraints": [1, 2]}, "'constraints' must be a list of strings"),
        ({"tone": 3}, "'tone' must be a string"),
        ({"custom_sections": ["a"]}, "'custom_sections' must be a mapping"),
        ({"variables": {"bad name": {}}}, "not an identifier"),
        ({"variables": {"x": {"defualt": "1"}}}, "unknown keys ['defualt']"),
        ({"variables": {"x": {"required": "yes"}}}, "'variables.x.required' must be true or false"),
        ({"replace": ["name"]}, "not mergeable fields"),
    ],
)
def test_wrong_field_values_are_clear_errors(fields: dict, needle: str) -> None:
    with pytest.raises(PersonaDefinitionError) as info:
        Persona(name="Maya", role="R", **fields)
    assert needle in str(info.value)
    assert "'Maya'" in str(info.value)


def test_a_persona_without_role_or_parent_is_refused() -> None:
    with pytest.raises(PersonaDefinitionError, match="has no role: give it role="):
        Persona(name="Maya")
