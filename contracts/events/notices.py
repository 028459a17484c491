"""School messages and resources (notices owns them)."""
from .. import fields as f
from ..registry import EventSchema, Part, event


class Audience(Part):
    """Who the message is for; the board is always named, and the narrower ids when needed."""
    scope = f.Choice("org", "school", "group", "student")
    org_id = f.Id()
    school_id = f.Id(required=False)
    group = f.Text(20, required=False)
    student_id = f.Id(required=False)

    present_when = {"school_id": ("scope", ("school", "group", "student")),
                    "group": ("scope", ("group",)),
                    "student_id": ("scope", ("student",))}


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
    body = f.Text(20000, multiline=True, metadata={"description": "plain text"})
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
    description = f.Text(1000, multiline=True, required=False)
