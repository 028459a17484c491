"""Parent accounts (identity) and parent-child links (linking)."""
from .. import fields as f
from ..registry import SERVICES, EventSchema, event

PARENT = "0f5e2d8a-3c41-4b7e-9d2a-6c1b8e4f7a90"
EVERY_SERVICE_BUT_IDENTITY = tuple(s for s in SERVICES if s != "identity")


@event("identity", subject="parent_id", consumers=("linking", "notices"), example={
    "parent_id": PARENT, "email": "parent.demo@example.org", "locale": "fr"})
class ParentVerified(EventSchema):
    """A parent proved they own the email they gave the school; their account exists."""
    parent_id = f.Uuid(metadata={"description": "Keycloak user id"})
    email = f.Personal("parent", f.Email())
    locale = f.Choice("fr", "en")


@event("identity", subject="parent_id", consumers=("linking", "notices"), example={
    "parent_id": PARENT, "old_email": "parent.demo@example.org",
    "new_email": "julie.gagnon@example.org"})
class ParentEmailChanged(EventSchema):
    """A parent verified a new email; links that relied on the old one are re-checked."""
    parent_id = f.Uuid()
    old_email = f.Personal("parent", f.Email())
    new_email = f.Personal("parent", f.Email())


@event("identity", subject="parent_id", consumers=EVERY_SERVICE_BUT_IDENTITY,
       example={"parent_id": PARENT})
class ParentAccountClosed(EventSchema):
    """The parent closed their account: every service forgets them (Law 25)."""
    parent_id = f.Uuid()


@event("linking", subject="parent_id", consumers=("attendance", "grades", "billing", "notices"),
       example={"parent_id": PARENT, "student_id": "css-trois-lacs.1234567",
                "school_id": "css-trois-lacs.ecole-du-ruisseau", "org_id": "css-trois-lacs",
                "method": "email", "guardian_id": "css-trois-lacs.r-88412"})
class ChildLinked(EventSchema):
    """A parent proved a child is theirs; services may now answer that parent about the child."""
    parent_id = f.Uuid()
    student_id = f.Id()
    school_id = f.Id()
    org_id = f.Id()
    method = f.Choice("email", "pin", metadata={
        "description": "email: the parent's verified email is a guardian email on the record"})
    guardian_id = f.Id(required=False, metadata={
        "description": "the guardian on the record the parent proved to be (whose PIN, for pin)"})


@event("linking", subject="parent_id", consumers=("attendance", "grades", "billing", "notices"),
       example={"parent_id": PARENT, "student_id": "css-trois-lacs.1234567",
                "reason": "access_denied"})
class ChildUnlinked(EventSchema):
    """The parent must stop seeing the child, at once."""
    parent_id = f.Uuid()
    student_id = f.Id()
    reason = f.Choice("guardian_removed", "access_denied", "withdrawn", "email_changed",
                      "account_closed")


@event("linking", subject="student_id", consumers=("attendance", "grades", "billing", "notices"),
       example={"student_id": "css-trois-lacs.1234567"})
class StudentForgotten(EventSchema):
    """The student withdrew longer ago than the portal keeps a record (Law 25): every service
    forgets the child, their personal data in the event stores and their read models."""
    student_id = f.Id()


@event("linking", subject="student_id", consumers=("sis",), example={
    "student_id": "css-trois-lacs.1234567", "parent_id": PARENT, "school_year": "2027-2028",
    "decision": "confirm"})
class ReenrollmentSubmitted(EventSchema):
    """The principal guardian confirmed or declined next year's enrolment."""
    student_id = f.Id()
    parent_id = f.Uuid()
    school_year = f.SchoolYear()
    decision = f.Choice("confirm", "decline")


@event("linking", subject="student_id", consumers=("sis",), example={
    "request_id": "5b0c7c52-94f5-4d0c-9a8e-0d5f3d2f1e11", "student_id": "css-trois-lacs.1234567",
    "parent_id": PARENT, "field": "address",
    "requested_value": "48, rue du Quai, Lac-Vert QC J0T 1A0", "comment": None})
class RecordCorrectionRequested(EventSchema):
    """A parent asks the school to correct the child's record."""
    request_id = f.Uuid()
    student_id = f.Id()
    parent_id = f.Uuid()
    field = f.Choice("address", "phone", "guardian_email")
    requested_value = f.Personal("parent", f.Text(200))
    comment = f.Personal("parent", f.Text(500, multiline=True, required=False))
