"""Inheritance: scalars override, lists extend, sections merge, `replace`, chains, cycles, explain."""

import pytest

from llm_persona import InheritanceError, Persona, PersonaNotFoundError, PersonaRegistry


@pytest.fixture
def registry() -> PersonaRegistry:
    r = PersonaRegistry()
    r.define(
        Persona(
            name="Maya",
            role="Customer Support Specialist",
            company="Acme Corp",
            tone="helpful, concise, empathetic",
            capabilities=["Look up order status", "Process refunds under $50"],
            constraints=["Never promise specific delivery dates"],
            greeting="Hi, I'm Maya from Acme support.",
            custom_sections={"escalation": "Escalate when asked.", "hours": "9 to 5."},
            variables={"user_name": {"default": "there"}},
        )
    )
    return r


def test_seed_inheritance_example_inherits_role(registry: PersonaRegistry) -> None:
    registry.define(Persona(name="MayaPremium", parent="Maya", capabilities=["Process refunds under $500"]))
    premium = registry.get("MayaPremium")
    assert premium.role == "Customer Support Specialist"
    assert premium.company == "Acme Corp"
    assert premium.tone == "helpful, concise, empathetic"
    assert premium.greeting == "Hi, I'm Maya from Acme support."
    assert premium.capabilities == [
        "Look up order status",
        "Process refunds under $50",
        "Process refunds under $500",
    ]
    assert premium.build_system_prompt() == (
        "You are MayaPremium, a Customer Support Specialist at Acme Corp.\n\n"
        "Tone: helpful, concise, empathetic\n\n"
        "You can:\n- Look up order status\n- Process refunds under $50\n- Process refunds under $500\n\n"
        "Do not:\n- Never promise specific delivery dates\n\n"
        "Escalate when asked.\n\n9 to 5."
    )


def test_scalars_override_and_lists_do_not_duplicate(registry: PersonaRegistry) -> None:
    registry.define(
        Persona(
            name="Alex",
            parent="Maya",
            role="Sales Rep",
            tone="upbeat",
            capabilities=["Look up order status", "Quote prices"],
        )
    )
    alex = registry.get("Alex")
    assert (alex.role, alex.tone, alex.company) == ("Sales Rep", "upbeat", "Acme Corp")
    assert alex.capabilities == ["Look up order status", "Process refunds under $50", "Quote prices"]


def test_sections_merge_by_key_and_null_removes(registry: PersonaRegistry) -> None:
    registry.define(
        Persona(
            name="Night",
            parent="Maya",
            custom_sections={"hours": "24/7.", "escalation": None, "extra": "New."},  # type: ignore[dict-item]
        )
    )
    assert registry.get("Night").custom_sections == {"hours": "24/7.", "extra": "New."}


def test_replace_uses_the_child_value_as_is(registry: PersonaRegistry) -> None:
    registry.define(
        Persona(
            name="Lean",
            parent="Maya",
            capabilities=["Only this"],
            custom_sections={"x": "X"},
            company=None,
            replace=["capabilities", "custom_sections", "company"],
        )
    )
    lean = registry.get("Lean")
    assert lean.capabilities == ["Only this"]
    assert lean.custom_sections == {"x": "X"}
    assert lean.company is None
    assert lean.constraints == ["Never promise specific delivery dates"]  # not replaced: inherited


def test_several_levels_and_variables_inherit(registry: PersonaRegistry) -> None:
    registry.define(Persona(name="L1", parent="Maya", capabilities=["one"]))
    registry.define(
        Persona(name="L2", parent="L1", capabilities=["two"], custom_sections={"hi": "Hi {user_name}"})
    )
    l2 = registry.get("L2")
    assert l2.capabilities[-2:] == ["one", "two"]
    assert l2.build_system_prompt().endswith("Hi there")


def test_child_defined_before_parent_resolves_when_parent_arrives() -> None:
    r = PersonaRegistry()
    assert r.define(Persona(name="Kid", parent="Base", capabilities=["b"], labels=["production"])) is None
    with pytest.raises(InheritanceError) as info:
        r.get("Kid")
    assert info.value.chain == ("Kid", "Base")
    assert "'Base', which is not defined" in str(info.value)
    r.define(Persona(name="Base", role="Helper", capabilities=["a"]))
    assert r.get("Kid").capabilities == ["a", "b"]
    assert r.labels("Kid") == {"production": 1}


def test_missing_parent_names_the_whole_chain() -> None:
    r = PersonaRegistry()
    r.define(Persona(name="A", parent="B"))
    r.define(Persona(name="B", parent="C"))
    with pytest.raises(InheritanceError) as info:
        r.get("A")
    assert info.value.chain == ("A", "B", "C")
    assert "chain: A -> B -> C" in str(info.value)


def test_cycle_is_refused_and_changes_nothing() -> None:
    r = PersonaRegistry()
    r.define(Persona(name="A", role="R"))
    r.define(Persona(name="B", parent="A"))
    with pytest.raises(InheritanceError) as info:
        r.define(Persona(name="A", parent="B"))
    assert "Inheritance cycle: A -> B -> A" in str(info.value)
    assert r.get("A").role == "R"
    assert len(r.history("A")) == 1


def test_parent_change_reaches_children_as_new_versions(registry: PersonaRegistry) -> None:
    registry.define(Persona(name="MayaPremium", parent="Maya", capabilities=["Process refunds under $500"]))
    registry.define(Persona(name="Maya", role="Support Lead"))
    assert registry.get("MayaPremium").role == "Support Lead"
    assert [v.number for v in registry.history("MayaPremium")] == [1, 2]
    assert registry.lookup("MayaPremium").parent_version == 2
    assert registry.get("MayaPremium", version=1).role == "Customer Support Specialist"


def test_explain_shows_which_layer_each_line_came_from(registry: PersonaRegistry) -> None:
    registry.define(
        Persona(name="MayaPremium", parent="Maya", capabilities=["Process refunds under $500"], tone="warm")
    )
    assert str(registry.explain("MayaPremium")) == (
        "Maya:role, company              | You are MayaPremium, a Customer Support Specialist at Acme Corp.\n"
        "MayaPremium:tone                | Tone: warm\n"
        "MayaPremium:capabilities        | You can:\n"
        "Maya:capabilities[0]            | - Look up order status\n"
        "Maya:capabilities[1]            | - Process refunds under $50\n"
        "MayaPremium:capabilities[2]     | - Process refunds under $500\n"
        "MayaPremium:constraints         | Do not:\n"
        "Maya:constraints[0]             | - Never promise specific delivery dates\n"
        "Maya:custom_sections.escalation | Escalate when asked.\n"
        "Maya:custom_sections.hours      | 9 to 5."
    )


def test_unknown_persona_suggests_close_names(registry: PersonaRegistry) -> None:
    with pytest.raises(PersonaNotFoundError, match="Did you mean 'Maya'"):
        registry.get("Maia")
