"""Modelling mistakes are reported as ModelError naming the problem, the machine and the action.

One test per mistake, on small toy systems written with the public language; then the errors of
variants, threat and fault models and parameters, which must name the known values.
"""

from __future__ import annotations

import re
import types
from collections.abc import Callable

import pytest

from otaproof.model.config import FAULTS, THREATS, Parameters, Scenario
from otaproof.model.explicit import Interpreter
from otaproof.model.lang import (
    BOOL,
    EnumSort,
    Expr,
    Fired,
    IntSort,
    ModelError,
    Next,
    SetSort,
    const,
    ite,
    lookup,
    select,
)
from otaproof.model.system import (
    Case,
    Machine,
    SystemBuilder,
    assign,
    case,
    otherwise,
    outcome,
)
from otaproof.model.variants import REGISTRY, build, get_variant, registry_of, variant_of
from otaproof.model.variants import approved as approved_variant

PHASE = EnumSort("Phase", ("closed", "open"))
COLOUR = EnumSort("Colour", ("red", "green"))


class Toy:
    """A door with a phase, a counter, a flag and a ghost; a lock; a bell channel between them."""

    def __init__(self) -> None:
        self.b = SystemBuilder("toy")
        self.door = self.b.machine("Door")
        self.lock = self.b.machine("Lock")
        self.phase = self.door.var("phase", PHASE, "closed")
        self.n = self.door.var("n", IntSort(0, 3), 0)
        self.flag = self.door.var("flag", BOOL, False)
        self.ghost = self.door.var("opened_once", BOOL, False, ghost=True)
        self.locked = self.lock.var("locked", BOOL, True)
        self.bell = self.b.channel("bell", "Door", "Lock", {"tone": COLOUR, "loud": BOOL}, 1)

    def action(self, body: Callable[..., Case | None], machine: Machine | None = None, name: str = "open",
               **kw: object) -> None:
        (machine or self.door).action(name, body, **kw)  # type: ignore[arg-type]

    def build(self, **kw: object):  # type: ignore[no-untyped-def]
        return self.b.build(**kw)  # type: ignore[arg-type]


def raises(*fragments: str) -> pytest.RaisesExc:  # type: ignore[name-defined]
    """ModelError whose message contains every fragment, in order."""
    return pytest.raises(ModelError, match=".*".join(re.escape(f) for f in fragments))


def test_a_well_formed_toy_builds_and_runs() -> None:
    toy = Toy()
    toy.action(lambda: case(toy.phase == "closed", outcome("first", ~toy.flag, assign(toy.phase, "open"),
                                                           assign(toy.flag, True), assign(toy.ghost, True)),
                            otherwise("again", assign(toy.phase, "open"))))
    toy.action(lambda: case(toy.bell.has_room(), toy.bell.send(tone="green", loud=toy.flag)), name="ring")
    toy.action(lambda: case(toy.bell.nonempty() & (toy.bell.head("tone") == "green"), toy.bell.receive(),
                            assign(toy.locked, False)), machine=toy.lock, name="unlock")
    system = toy.build()
    interp = Interpreter(system)
    assert len(interp.enabled(interp.initial_state())) == 2


# ---- variables and sorts ----------------------------------------------------------------------


def test_unknown_variable_in_a_guard() -> None:
    toy, other = Toy(), Toy()
    toy.action(lambda: case(other.flag, assign(toy.phase, "open")))
    with raises("Door.open()", "unknown variable 'Door.flag'", "another system"):
        toy.build()


def test_assignment_to_an_unknown_variable() -> None:
    toy, other = Toy(), Toy()
    toy.action(lambda: case(True, assign(other.phase, "open")))
    with raises("Door.open()", "assignment to unknown variable 'Door.phase'"):
        toy.build()


def test_unknown_variable_by_name() -> None:
    with raises("unknown variable 'Door.colour'"):
        Toy().build().var("Door.colour")


def test_duplicate_variable() -> None:
    toy = Toy()
    with raises("Door", "duplicate variable 'Door.n'"):
        toy.door.var("n", BOOL, False)


@pytest.mark.parametrize("sort, init, message", [
    (IntSort(0, 3), 5, "value 5 is not in int 0..3"),
    (PHASE, "ajar", "value 'ajar' is not in enum Phase ['closed', 'open']"),
    (BOOL, 1, "value 1 is not a bool"),
])
def test_initial_value_out_of_domain(sort: object, init: object, message: str) -> None:
    toy = Toy()
    with raises("Door.x", message):
        toy.door.var("x", sort, init)  # type: ignore[arg-type]


def test_enum_value_out_of_domain_in_an_assignment() -> None:
    toy = Toy()
    toy.action(lambda: case(True, assign(toy.phase, "ajar")))
    with raises("Door.open()", "value 'ajar' is not in enum Phase"):
        toy.build()


def test_int_constant_out_of_domain_in_an_assignment() -> None:
    toy = Toy()
    toy.action(lambda: case(True, assign(toy.n, 7)))
    with raises("Door.open()", "Door.n is int[0..3] but is assigned 7, outside its domain"):
        toy.build()


def test_negative_constant() -> None:
    toy = Toy()
    toy.action(lambda: case(True, assign(toy.n, toy.n + (-1))))
    with raises("Door.open()", "negative constant -1"):
        toy.build()


def test_assignment_of_the_wrong_sort() -> None:
    toy = Toy()
    toy.action(lambda: case(True, assign(toy.flag, toy.n)))
    with raises("Door.open()", "Door.flag is bool but is assigned a int[0..3]"):
        toy.build()


def test_assignment_of_another_enum() -> None:
    toy = Toy()
    colour = toy.door.var("colour", COLOUR, "red")
    toy.action(lambda: case(True, assign(toy.phase, colour)))
    with raises("Door.open()", "Door.phase is Phase but is assigned a Colour"):
        toy.build()


@pytest.mark.parametrize("lo, hi", [(3, 1), (-1, 2)])
def test_int_range_out_of_order_or_negative(lo: int, hi: int) -> None:
    with raises(f"bounded int range {lo}..{hi} must satisfy 0 <= lo <= hi"):
        IntSort(lo, hi)


def test_empty_enum() -> None:
    with raises("enum Nothing has no values"):
        EnumSort("Nothing", ())


def test_enum_with_duplicate_values() -> None:
    with raises("enum Phase has duplicate values"):
        EnumSort("Phase", ("open", "open"))


# ---- expressions ----------------------------------------------------------------------------


def test_comparing_a_bool_with_an_enum() -> None:
    toy = Toy()
    toy.action(lambda: case(toy.flag == toy.phase, assign(toy.phase, "open")))
    with raises("Door.open()", "'==' compares values of different sorts: bool and Phase"):
        toy.build()


def test_comparing_two_different_enums() -> None:
    toy = Toy()
    colour = toy.door.var("colour", COLOUR, "red")
    toy.action(lambda: case(colour != toy.phase, assign(toy.phase, "open")))
    with raises("Door.open()", "'!=' compares values of different sorts: Colour and Phase"):
        toy.build()


def test_comparing_an_int_with_a_name() -> None:
    toy = Toy()
    toy.action(lambda: case(toy.n == "open", assign(toy.phase, "open")))
    with raises("Door.open()", "value 'open' is not in int 0..3"):
        toy.build()


@pytest.mark.parametrize("build_expr, message", [
    (lambda t: t.phase < "open", "ordering < needs ints, got Phase"),
    (lambda t: t.phase >= "open", "ordering >= needs ints, got Phase"),
    (lambda t: t.flag + 1 == 1, "arithmetic + needs ints, got bool"),
    (lambda t: t.phase - 1 == 0, "arithmetic - needs ints, got Phase"),
    (lambda t: t.n & t.flag, "'&' needs a bool, got int[0..3]"),
    (lambda t: ~t.phase, "'~' needs a bool, got Phase"),
    (lambda t: ite(t.n, t.flag, False), "'ite' needs a bool, got int[0..3]"),
    (lambda t: ite(t.flag, t.n, t.phase) == 0, "'ite' compares values of different sorts: int[0..3] and Phase"),
    (lambda t: ite(t.flag, 1, 2), "ite() needs at least one branch to be an expression"),
    (lambda t: t.phase.contains("open"), "contains() needs a set, got Phase"),
])
def test_operator_on_the_wrong_sort(build_expr: Callable[[Toy], Expr], message: str) -> None:
    toy = Toy()
    toy.action(lambda: case(build_expr(toy), assign(toy.phase, "open")))
    with raises("Door.open()", message):
        toy.build()


def test_guard_that_is_not_boolean() -> None:
    toy = Toy()
    toy.action(lambda: case(toy.n, assign(toy.phase, "open")))
    with raises("Door.open()", "the guard is int[0..3], not bool"):
        toy.build()


def test_branch_condition_that_is_not_boolean() -> None:
    toy = Toy()
    toy.action(lambda: case(True, outcome("go", toy.phase, assign(toy.phase, "open"))))
    with raises("Door.open()", "the condition of branch 'go' is Phase, not bool"):
        toy.build()


def test_guard_given_as_a_name() -> None:
    toy = Toy()
    toy.action(lambda: case("open", assign(toy.phase, "open")))
    with raises("Door.open()", "value 'open' is not a bool"):
        toy.build()


def test_python_truth_value_of_an_expression() -> None:
    toy = Toy()

    def body() -> Case:
        if toy.phase == "closed":  # a mistake: Python `if` on a model expression
            return case(True, assign(toy.phase, "open"))
        return case(False, [])

    toy.action(body)
    with raises("Door.open()", "an expression was used as a Python truth value"):
        toy.build()


def test_lookup_table_missing_a_value() -> None:
    toy = Toy()
    toy.action(lambda: case(lookup(toy.phase, {"closed": True}, BOOL), assign(toy.phase, "open")))
    with raises("Door.open()", "lookup table has no entry for 'open'"):
        toy.build()


def test_select_with_too_few_items_for_its_index() -> None:
    toy = Toy()
    toy.action(lambda: case(select([toy.flag], toy.phase), assign(toy.phase, "open")))
    with raises("Door.open()", "select has 1 items but its index Phase takes 2 values"):
        toy.build()


def test_select_with_an_int_index_past_the_items() -> None:
    toy = Toy()
    toy.action(lambda: case(select([toy.flag, toy.flag], toy.n), assign(toy.phase, "open")))
    with raises("Door.open()", "select has 2 items but its index Door.n ranges over int[0..3]"):
        toy.build()


def test_set_update_with_an_element_of_another_enum() -> None:
    toy = Toy()
    seen = toy.door.var("seen", SetSort(PHASE), frozenset())
    toy.action(lambda: case(True, assign(seen, seen.with_added("red"))))
    with raises("Door.open()", "value 'red' is not in enum Phase"):
        toy.build()


def test_post_state_and_events_are_not_allowed_in_actions() -> None:
    toy = Toy()
    toy.action(lambda: case(Next(toy.flag), assign(toy.phase, "open")))
    with raises("Door.open()", "Next(...) and fired(...) are only allowed in monitors and properties"):
        toy.build()
    toy = Toy()
    toy.action(lambda: case(Fired("open", frozenset({0})), assign(toy.phase, "open")))
    with raises("Door.open()", "only allowed in monitors and properties"):
        toy.build()


def test_ghost_variable_read_by_the_system() -> None:
    toy = Toy()
    toy.action(lambda: case(~toy.ghost, assign(toy.phase, "open")))
    with raises("Door.open()", "ghost variable Door.opened_once may only be read by ghost assignments"):
        toy.build()


def test_ghost_variable_read_into_a_system_variable() -> None:
    toy = Toy()
    toy.action(lambda: case(True, assign(toy.flag, toy.ghost)))
    with raises("Door.open()", "ghost variable Door.opened_once"):
        toy.build()


# ---- actions ----------------------------------------------------------------------------------


def test_duplicate_action() -> None:
    toy = Toy()
    toy.action(lambda: case(True, assign(toy.phase, "open")))
    with raises("Lock.open", "duplicate action 'open' (already declared on machine Door)"):
        toy.action(lambda: case(True, assign(toy.locked, False)), machine=toy.lock)


def test_effect_writing_another_machines_variable() -> None:
    toy = Toy()
    toy.action(lambda: case(True, assign(toy.locked, False)))
    with raises("Door.open()", "effect writes Lock.locked, a variable of machine Lock"):
        toy.build()


def test_a_joint_action_may_write_its_partners_variables() -> None:
    toy = Toy()
    toy.action(lambda: case(True, assign(toy.locked, False)), joint=("Lock",))
    assert len(toy.build().instances) == 1


def test_variable_assigned_twice_in_a_branch() -> None:
    toy = Toy()
    toy.action(lambda: case(True, assign(toy.n, 1), assign(toy.n, 2)))
    with raises("Door.open()", "branch 'ok' assigns Door.n twice"):
        toy.build()


def test_duplicate_branch_names() -> None:
    toy = Toy()
    toy.action(lambda: case(True, outcome("go", toy.flag, assign(toy.n, 1)), otherwise("go", assign(toy.n, 2))))
    with raises("Door.open()", "duplicate branch names ['go', 'go']"):
        toy.build()


def test_mixing_branches_and_assignments() -> None:
    toy = Toy()
    toy.action(lambda: case(True, outcome("go", toy.flag, assign(toy.n, 1)), assign(toy.n, 2)))
    with raises("Door.open()", "case() takes either branches or assignments, not both"):
        toy.build()


def test_something_that_is_not_an_assignment() -> None:
    toy = Toy()
    toy.action(lambda: case(True, assign(toy.n, 1), toy.flag))
    with raises("Door.open()", "expected an assignment"):
        toy.build()


def test_body_returning_something_else_than_a_case() -> None:
    toy = Toy()
    toy.action(lambda: [assign(toy.n, 1)])  # type: ignore[arg-type, return-value]
    with raises("Door.open()", "action body returned list, expected case(...)"):
        toy.build()


def test_body_that_does_not_take_the_declared_parameters() -> None:
    toy = Toy()
    with raises("Door.open", "the action body cannot take its parameters ['value']"):
        toy.action(lambda v: case(True, assign(toy.n, v)), params={"value": (0, 1)})


def test_parameter_value_outside_the_variables_domain_names_the_instance() -> None:
    toy = Toy()
    toy.action(lambda value: case(True, assign(toy.phase, value)), params={"value": ("open", "shut")})
    with raises("Door.open(value=shut)", "value 'shut' is not in enum Phase"):
        toy.build()


def test_unknown_role() -> None:
    toy = Toy()
    with raises("Door.open", "role 'sys' is not one of"):
        toy.action(lambda: case(True, []), role="sys")


def test_unknown_threat_names_the_known_ones() -> None:
    toy = Toy()
    with raises("Door.open", "unknown threat 'han_mtim'; known: " + ", ".join(THREATS)):
        toy.action(lambda: case(True, []), role="attacker", threat="han_mtim")


def test_unknown_fault_names_the_known_ones() -> None:
    toy = Toy()
    with raises("Door.open", "unknown fault 'jitter'; known: " + ", ".join(FAULTS)):
        toy.action(lambda: case(True, []), role="fault", fault="jitter")


def test_attacker_action_without_a_threat_model() -> None:
    toy = Toy()
    with raises("Door.open", "an attacker action needs the threat model that enables it"):
        toy.action(lambda: case(True, []), role="attacker")


def test_fault_action_without_a_fault_model() -> None:
    toy = Toy()
    with raises("Door.open", "a fault action needs the fault model that enables it"):
        toy.action(lambda: case(True, []), role="fault")


def test_unknown_action_in_a_variant_operation_names_the_known_ones() -> None:
    toy = Toy()
    toy.action(lambda: case(True, []))
    with raises("unknown action 'close'; known: ['open']"):
        toy.b.remove_action("close")
    with raises("unknown action 'close'"):
        toy.b.strengthen_guard("close", lambda: True)


def test_unknown_action_and_branch_in_events() -> None:
    toy = Toy()
    toy.action(lambda: case(True, outcome("first", ~toy.flag, assign(toy.flag, True)), otherwise("again")))
    system = toy.build()
    with raises("unknown action 'close'; known: ['open']"):
        system.fired("close")
    with raises("action open has no branch ['later']; branches: ['first', 'again']"):
        system.took("open", ("later",))


# ---- channels ---------------------------------------------------------------------------------


def test_send_with_an_unknown_message_field() -> None:
    toy = Toy()
    toy.action(lambda: case(toy.bell.has_room(), toy.bell.send(tone="red", volume=3)), name="ring")
    with raises("Door.ring()", "channel bell has no field 'volume'; fields: ['loud', 'tone']"):
        toy.build()


def test_reading_an_unknown_message_field() -> None:
    toy = Toy()
    toy.action(lambda: case(toy.bell.nonempty() & (toy.bell.head("volume") == 3), toy.bell.receive(),
                            assign(toy.locked, False)), machine=toy.lock, name="unlock")
    with raises("Lock.unlock()", "channel bell has no field 'volume'; fields: ['loud', 'tone']"):
        toy.build()


def test_send_with_a_field_value_of_the_wrong_sort() -> None:
    toy = Toy()
    toy.action(lambda: case(toy.bell.has_room(), toy.bell.send(tone=toy.phase)), name="ring")
    with raises("Door.ring()", "channel bell: field tone is Colour but is given a Phase"):
        toy.build()


def test_send_with_a_field_value_out_of_its_domain() -> None:
    toy = Toy()
    toy.action(lambda: case(toy.bell.has_room(), toy.bell.send(tone="blue")), name="ring")
    with raises("Door.ring()", "value 'blue' is not in enum Colour"):
        toy.build()


def test_machine_writing_a_channel_it_is_not_an_endpoint_of() -> None:
    toy = Toy()
    other = toy.b.machine("Cat")
    toy.action(lambda: case(toy.bell.has_room(), toy.bell.send(tone="red")), machine=other, name="meow")
    with raises("Cat.meow()", "machine Cat writes bell.len but is not an endpoint of bell"):
        toy.build()


def test_channel_endpoint_that_is_not_a_machine() -> None:
    toy = Toy()
    toy.b.channel("knock", "Door", "Lok", {"loud": BOOL}, 1)  # a typo for Lock
    with raises("channel knock names 'Lok', which is not a machine; machines: Door, Lock"):
        toy.build()


def test_duplicate_channel_and_zero_capacity() -> None:
    toy = Toy()
    with raises("duplicate channel 'bell'"):
        toy.b.channel("bell", "Door", "Lock", {"loud": BOOL}, 1)
    with raises("channel knock: capacity must be >= 1, got 0"):
        toy.b.channel("knock", "Door", "Lock", {"loud": BOOL}, 0)


# ---- errors found when the model runs ---------------------------------------------------------


def test_assignment_out_of_domain_at_run_time_names_the_action() -> None:
    toy = Toy()
    toy.action(lambda: case(True, assign(toy.n, toy.n + 1)), name="count")
    system = toy.build()
    interp = Interpreter(system)
    state = interp.initial_state()
    for _ in range(3):
        state = interp.step(state, 0)
    with raises("Door.count()", "assigns Door.n := 4, outside its domain int[0..3]"):
        interp.step(state, 0)


def test_subtraction_below_zero_names_the_action() -> None:
    """``n - 1 < 2`` at n = 0 would be true over the integers and false in the bit-vector
    encoding: the explicit semantics reports it instead of silently disagreeing with Z3."""
    toy = Toy()
    toy.action(lambda: case(toy.n - 1 < 2, assign(toy.phase, "open")), name="careless")
    interp = Interpreter(toy.build())
    with raises("Door.careless()", "subtraction Door.n - 1 goes below zero (0 - 1)"):
        interp.enabled(interp.initial_state())


def test_guarded_subtraction_is_fine() -> None:
    toy = Toy()
    toy.action(lambda: case((toy.n > 0) & (toy.n - 1 < 2), assign(toy.phase, "open")), name="careful")
    interp = Interpreter(toy.build())
    assert interp.enabled(interp.initial_state()) == []


def test_constants_are_checked_against_their_sort() -> None:
    with raises("value 'ajar' is not in enum Phase"):
        const(PHASE, "ajar")


# ---- variants, threat and fault models, parameters -----------------------------------------------


def test_unknown_variant_names_the_known_ones() -> None:
    with raises("unknown variant 'secmp0008'; known: " + ", ".join(sorted(REGISTRY))):
        get_variant("secmp0008")
    with raises("unknown variant 'secmp0008'"):
        build(Scenario(variant="secmp0008"))


def test_variant_defined_twice() -> None:
    with raises("variant 'secmp0007' is defined twice"):
        registry_of((approved_variant, approved_variant))


def test_a_variant_module_needs_its_constants_and_apply() -> None:
    module = types.ModuleType("my_variant")
    module.NAME, module.DOC = "mine", "a design change"  # no SOURCE
    with raises("a variant module needs a string SOURCE"):
        variant_of(module)
    module.SOURCE = "a public document"
    with raises("a variant module needs a function apply(m)"):
        variant_of(module)
    module.apply = lambda m: None
    module.PARAMETERS = ["local_updates"]
    with raises("PARAMETERS must be a dict"):
        variant_of(module)
    module.PARAMETERS = {"local_updates": True}
    assert variant_of(module).parameters == {"local_updates": True}


def test_unknown_threat_in_a_scenario_names_the_known_ones() -> None:
    with raises("unknown threat 'mitm'; known: " + ", ".join(THREATS)):
        Scenario(threats=frozenset({"mitm"}))


def test_unknown_fault_in_a_scenario_names_the_known_ones() -> None:
    with raises("unknown fault 'jitter'; known: " + ", ".join(FAULTS)):
        Scenario(faults=frozenset({"jitter"}))


@pytest.mark.parametrize("name", sorted(Parameters.LIMITS))
def test_parameter_out_of_range_names_its_range(name: str) -> None:
    lo, hi = Parameters.LIMITS[name]
    for bad in (lo - 1, hi + 1):
        with raises(f"parameter {name}={bad} must be an integer in {lo}..{hi}"):
            Parameters(**{name: bad})  # type: ignore[arg-type]


def test_parameter_of_the_wrong_type() -> None:
    with raises("parameter capacity=True must be an integer in 1..3"):
        Parameters(capacity=True)
    with raises("parameter versions='2' must be an integer in 1..4"):
        Parameters(versions="2")  # type: ignore[arg-type]


def test_no_device_at_all() -> None:
    with raises("parameters ppmids and hcalcs are both 0"):
        Parameters(ppmids=0, hcalcs=0)


def test_unknown_parameter_names_the_known_ones() -> None:
    with raises("unknown parameter 'devices'; known: " + ", ".join(Parameters.names())):
        Parameters().with_values({"devices": 2})


def test_parameter_strings_that_do_not_convert() -> None:
    with raises("parameter anti_rollback='maybe' must be true or false"):
        Parameters().with_values({"anti_rollback": "maybe"})
    with raises("parameter ppmids='two' must be an integer"):
        Parameters().with_values({"ppmids": "two"})
    assert Parameters().with_values({"ppmids": "2", "local_updates": "yes"}).ppmids == 2
