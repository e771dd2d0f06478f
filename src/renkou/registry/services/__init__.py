"""Writes to the register. Each function is one transaction that checks the register's rules, writes,
keeps the person's history and records the act in the audit log."""

from renkou.registry.services.events import (
    birth_register,
    births_renumber,
    death_register,
    move_in_register,
    move_out_register,
)
from renkou.registry.services.marriages import marriage_end, marriage_register
from renkou.registry.services.merge import person_merge
from renkou.registry.services.persons import (
    EDITABLE_FIELDS,
    household_check_new,
    household_create,
    household_set_head,
    households_write_many,
    person_build,
    person_check_changes,
    person_check_new,
    person_create,
    person_update,
    persons_write_many,
)
from renkou.registry.services.views import household_view, person_reveal_id_number, person_view

__all__ = [
    "EDITABLE_FIELDS",
    "birth_register",
    "births_renumber",
    "death_register",
    "household_check_new",
    "household_create",
    "household_set_head",
    "household_view",
    "households_write_many",
    "marriage_end",
    "marriage_register",
    "move_in_register",
    "move_out_register",
    "person_build",
    "person_check_changes",
    "person_check_new",
    "person_create",
    "person_merge",
    "person_reveal_id_number",
    "person_update",
    "person_view",
    "persons_write_many",
]
