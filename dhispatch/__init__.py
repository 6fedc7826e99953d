"""dhispatch: mapping specs (dsl), push plans (compiler) and the runtime that pushes them to DHIS2.

The stage folders live at the top of the repository (DESIGN §2); this package reaches them
through relative symlinks so that tools (mypy, pyright, editors) resolve ``dhispatch.*`` on a
fresh clone exactly as the installed wheel lays it out.
"""
