"""School messages and resources (notices owns them)."""
from marshmallow import validates_schema

from .. import fields as f
from .. import rules
from ..registry import EventSchema, Part, event

# Which ids each audience scope needs; the others must be absent.
NEEDS = {
    "org": ("org_id",),
    "school": ("org_id", "school_id"),
    "group": ("org_id", "school_id", "group"),
    "student": ("org_id", "school_id", "student_id"),
}


class Audience(Part):
    scope = f.Choice(*NEEDS)
    org_id = f.Id()
    school_id = f.Id(required=False)
    group = f.Text(20, required=False)
    student_id = f.Id(required=False)

    @validates_schema
    def _rules(self, data, **kwargs):
        needed = NEEDS[data["scope"]]
        for name in ("school_id", "group", "student_id"):
            condition = "scope in (" + ", ".join(s for s, n in NEEDS.items() if name in n) + ")"
            rules.required_when(data, name, condition, name in needed)
            rules.absent_unless(data, name, condition, name in needed)


class BoardOrSchool(Audience):
    scope = f.Choice("org", "school")


@event("sis", subject="message_id", consumers=("notices",), example={
    "message_id": "msg-2026-0142",
    "audience": {"scope": "school", "org_id": "css-trois-lacs",
                 "school_id": "css-trois-lacs.ecole-du-ruisseau", "group": None,
                 "student_id": None},
    "title": "Journée pédagogique le 27 novembre",
    "body": "Le service de garde sera ouvert sur inscription.",
    "published_at": "2026-11-18T13:05:00Z", "author": "Hélène Tremblay, directrice"})
class MessagePublished(EventSchema):
    """A message from the school or the board to the parents of an audience."""
    message_id = f.Id()
    audience = f.Object(Audience)
    title = f.Text(200)
    body = f.Text(20000, metadata={"description": "plain text"})
    published_at = f.Instant()
    author = f.Text(150)


@event("sis", subject="resource_id", consumers=("notices",), example={
    "resource_id": "res-007",
    "audience": {"scope": "org", "org_id": "css-trois-lacs", "school_id": None, "group": None,
                 "student_id": None},
    "title": "Calendrier scolaire 2026-2027", "kind": "document",
    "url": "https://trois-lacs.example.org/documents/calendrier-2026-2027.pdf",
    "description": None})
class ResourcePublished(EventSchema):
    """A link or a document a board or school offers to parents (resources tile)."""
    resource_id = f.Id()
    audience = f.Object(BoardOrSchool)
    title = f.Text(200)
    kind = f.Choice("link", "document")
    url = f.Url()
    description = f.Text(1000, required=False)
