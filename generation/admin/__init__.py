"""Admin for generation rows, one module per area; importing them registers the admins.

Decisions on drafts go through the same services as the editor.
"""

from generation.admin import copy, images, training  # noqa: F401
