"""Importing this module fills every registry of the scenario format: the built-in app kinds,
``[[nat_routers]]``, ``[[timeline]]``, ``[[expectations]]`` (with ``observer-view``) and
``[[plots]]``.  The loader and the schema import it, so a file and its schema always know the same
kinds."""

from __future__ import annotations

from netsim.scenario import apps as _builtin_apps  # noqa: F401  (the app kinds)
from netsim.scenario import expect as _expectations  # noqa: F401  ([[expectations]])
from netsim.scenario import nat as _nat_routers  # noqa: F401  ([[nat_routers]])
from netsim.scenario import timeline as _timeline  # noqa: F401  ([[timeline]])
from netsim.scenario import views as _views  # noqa: F401  (observer-view and [[plots]])
