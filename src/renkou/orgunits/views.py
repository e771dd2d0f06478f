"""Pages of the unit tree: the user's part of the county down to villages, with links to its people and counts."""

from __future__ import annotations

from django.shortcuts import render

from renkou.accounts.scope import scope_for
from renkou.core.views import page
from renkou.orgunits.selectors import unit_tree as unit_tree_of


@page
def unit_tree(request):
    root = scope_for(request.user).unit
    tree = unit_tree_of(root) if root is not None else None
    return render(request, "orgunits/unit_tree.html", {"section": "units", "tree": tree})
