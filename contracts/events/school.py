"""What the school system (`sis`) says about schools, students and guardians; linking owns it."""
import hashlib
import hmac

from marshmallow import validates_schema

from .. import fields as f
from .. import rules
from ..registry import EventSchema, Part, event

TILES = ("messages", "absences", "results", "agenda", "homework", "finances", "record",
         "resources", "contact")


def pin_key(secret, org_id):
    """The PIN key of one board (school service centre or private school): what the portal's
    operator derives from linking's PIN secret and hands to that board's school system alone, so
    that a board's key says nothing about another's. Hex, 64 characters."""
    return hmac.new(secret.encode(), f"pin-key:{org_id}".encode(), hashlib.sha256).hexdigest()


def pin_hash(key, student_id, pin):
    """What a school system puts on the bus instead of a guardian's PIN: the lower-case hex
    HMAC-SHA256 of `<student_id>:<pin>` under its board's PIN key (`pin_key`). Six digits are a
    million tries; without the key no try can be checked, so reading the bus gives no PIN."""
    return hmac.new(key.encode(), f"{student_id}:{pin}".encode(), hashlib.sha256).hexdigest()


# The example's key, published with the contracts: a real board's key is secret.
EXAMPLE_PIN_KEY = pin_key("example-secret", "css-trois-lacs")


class Organisation(Part):
    id = f.Id()
    name = f.Text(150)
    kind = f.Choice("public", "private", metadata={
        "description": "public: a school service centre (CSS); private: a private school"})


class Address(Part):
    street = f.Text(200)
    city = f.Text(100)
    province = f.Pattern(r"^[A-Z]{2}$", 2)
    postal_code = f.Pattern(r"^[A-Z][0-9][A-Z] [0-9][A-Z][0-9]$", 7)


class Contact(Part):
    role = f.Text(100)
    name = f.Text(150)
    phone = f.Phone(required=False)
    email = f.Email(required=False)


class School(Part):
    id = f.Id()
    name = f.Text(150)
    level = f.Choice("primary", "secondary")
    address = f.Object(Address)
    phone = f.Phone()
    email = f.Email()
    website = f.Url(required=False)
    principal_name = f.Text(150)
    contacts = f.NestedList(Contact, max_items=20)
    tiles = f.ListOf(f.Choice(*TILES), min_items=1, max_items=len(TILES),
                     metadata={"uniqueItems": True,
                               "description": "the tiles this school shows to parents"})

    @validates_schema
    def _rules(self, data, **kwargs):
        rules.no_duplicates(data, "tiles")


@event("sis", subject="school.id", consumers=("linking",), example={
    "org": {"id": "css-trois-lacs", "name": "Centre de services scolaire des Trois-Lacs",
            "kind": "public"},
    "school": {
        "id": "css-trois-lacs.ecole-du-ruisseau", "name": "École du Ruisseau", "level": "primary",
        "address": {"street": "125, rue des Érables", "city": "Lac-Vert", "province": "QC",
                    "postal_code": "J0T 1A0"},
        "phone": "819 555-0134", "email": "ruisseau@trois-lacs.example.org",
        "website": "https://ruisseau.trois-lacs.example.org", "principal_name": "Hélène Tremblay",
        "contacts": [{"role": "Secrétariat", "name": "Martine Gagnon", "phone": "819 555-0135",
                      "email": "secretariat.ruisseau@trois-lacs.example.org"}],
        "tiles": ["messages", "absences", "results", "finances", "record", "contact"],
    },
})
class SchoolRegistered(EventSchema):
    """A school (and its school service centre or private school) joins the portal or changes its
    contact card, principal or tiles. The latest event for a school is its current card."""
    org = f.Object(Organisation)
    school = f.Object(School)


class StudentRecord(EventSchema):
    student_id = f.Id(metadata={"description": "opaque stable id from the school system"})
    org_id = f.Id()
    school_id = f.Id()
    student_number = f.Pattern(f.STUDENT_NUMBER_PATTERN, 7, metadata={
        "description": "numéro de fiche, up to 7 digits"})
    permanent_code = f.Personal("child", f.PermanentCode(
        metadata={"description": "code permanent (12 or 10 chars)"}))
    last_name = f.Personal("child", f.Text(100, metadata={
        "description": "all last names, as on the school record"}))
    first_name = f.Personal("child", f.Text(100))
    birth_date = f.Personal("child", f.Date())
    grade = f.Pattern(f.GRADE_PATTERN, 2, metadata={
        "description": "M4/M5 preschool, P1-P6 primary, S1-S5 secondary"})
    group = f.Text(20)


STUDENT_EXAMPLE = {
    "student_id": "css-trois-lacs.1234567", "org_id": "css-trois-lacs",
    "school_id": "css-trois-lacs.ecole-du-ruisseau", "student_number": "1234567",
    "permanent_code": "GAGL05581812", "last_name": "Gagnon", "first_name": "Léa",
    "birth_date": "2018-08-05", "grade": "P3", "group": "301",
}


@event("sis", subject="student_id", consumers=("linking", "notices"), example=STUDENT_EXAMPLE)
class StudentEnrolled(StudentRecord):
    """A student is enrolled in a school (also sent when the student changes school)."""


@event("sis", subject="student_id", consumers=("linking", "notices"),
       example=dict(STUDENT_EXAMPLE, group="302"))
class StudentUpdated(StudentRecord):
    """The student's record changed; carries the whole record, not a difference."""


@event("sis", subject="student_id", consumers=("linking",),
       example={"student_id": "css-trois-lacs.1234567", "date": "2027-01-15"})
class StudentWithdrawn(EventSchema):
    """The student leaves the school; every parent stops seeing the child."""
    student_id = f.Id()
    date = f.Date()


@event("sis", subject="student_id", consumers=("linking", "notices"), example={
    "student_id": "css-trois-lacs.1234567", "guardian_id": "css-trois-lacs.r-88412",
    "name": "Julie Gagnon", "email": "parent.demo@example.org", "principal": True, "access": True,
})
class GuardianAssigned(EventSchema):
    """A guardian (répondant) on the student's record, with the email they gave the school.
    `access` false means this guardian must not see the child (custody)."""
    student_id = f.Id()
    guardian_id = f.Id()
    # The school's record of the child: forgotten with the child, not with a portal account.
    name = f.Personal("child", f.Text(150))
    email = f.Personal("child", f.Email(required=False, metadata={
        "description": "absent: can link with a PIN only"}))
    principal = f.Flag(metadata={"description": "principal guardian (receives re-enrolment)"})
    access = f.Flag()


@event("sis", subject="student_id", consumers=("linking", "notices"), example={
    "student_id": "css-trois-lacs.1234567", "guardian_id": "css-trois-lacs.r-88412"})
class GuardianRemoved(EventSchema):
    """The guardian is no longer on the student's record."""
    student_id = f.Id()
    guardian_id = f.Id()


@event("sis", subject="student_id", consumers=("linking",), example={
    "student_id": "css-trois-lacs.1234567", "guardian_id": "css-trois-lacs.r-88412",
    "pin_hash": pin_hash(EXAMPLE_PIN_KEY, "css-trois-lacs.1234567", "483920"), "expires_on": "2026-12-31",
})
class GuardianPinIssued(EventSchema):
    """The school gave a guardian a PIN to link the child. Never the PIN itself: `pin_hash` is
    the lower-case hex HMAC-SHA256 of `<student_id>:<PIN>` under the board's PIN key, which only
    that board's school system and the portal's linking service hold. A new PIN replaces the
    previous one."""
    student_id = f.Id()
    guardian_id = f.Id()
    pin_hash = f.Pattern(f.PIN_HASH_PATTERN, 64)
    expires_on = f.Date()


class Course(Part):
    code = f.Text(20)
    name = f.Text(150)
    teacher_name = f.Text(150, required=False)
    teacher_email = f.Email(required=False, metadata={
        "description": "only when the teacher chose to publish it"})
    group = f.Text(20, required=False)


@event("sis", subject="student_id", consumers=("linking",), example={
    "student_id": "css-trois-lacs.1234567", "school_year": "2026-2027",
    "courses": [
        {"code": "FRA132", "name": "Français, langue d'enseignement",
         "teacher_name": "Lisanne Tannahill", "teacher_email": "l.tannahill@trois-lacs.example.org",
         "group": "301"},
        {"code": "ANG132", "name": "Anglais, langue seconde", "teacher_name": "Robert Parant",
         "teacher_email": None, "group": "301"},
    ],
})
class CourseAssigned(EventSchema):
    """The student's subjects and teachers for a school year (the whole list, replacing the last)."""
    student_id = f.Id()
    school_year = f.SchoolYear()
    courses = f.NestedList(Course, max_items=40)

    @validates_schema
    def _rules(self, data, **kwargs):
        rules.no_duplicates(data, "courses", key=lambda course: course["code"])


@event("sis", subject="student_id", consumers=("linking",), example={
    "student_id": "css-trois-lacs.1234567", "route": "Circuit 42",
    "stop": "Rue des Pins / chemin du Lac", "morning_pickup": "07:32", "afternoon_dropoff": "15:48",
})
class TransportAssigned(EventSchema):
    """The student's school bus route and stop."""
    student_id = f.Id()
    route = f.Text(50)
    stop = f.Text(200)
    morning_pickup = f.Time()
    afternoon_dropoff = f.Time()


@event("sis", subject="org_id", consumers=("linking", "notices"), example={
    "org_id": "css-trois-lacs", "school_year": "2027-2028", "opens_on": "2027-01-18",
    "closes_on": "2027-02-05"})
class ReenrollmentOpened(EventSchema):
    """The board opens online re-enrolment for next school year; principal guardians are told."""
    org_id = f.Id()
    school_year = f.SchoolYear(metadata={"description": "the year students re-enrol for"})
    opens_on = f.Date()
    closes_on = f.Date()

    @validates_schema
    def _rules(self, data, **kwargs):
        rules.not_before(data, "closes_on", "opens_on")


@event("sis", subject="student_id", consumers=("linking",), example={
    "request_id": "5b0c7c52-94f5-4d0c-9a8e-0d5f3d2f1e11", "student_id": "css-trois-lacs.1234567",
    "status": "done", "comment": "Adresse mise à jour."})
class CorrectionResolved(EventSchema):
    """The school handled a parent's request to correct the child's record."""
    request_id = f.Uuid()
    student_id = f.Id()
    status = f.Choice("done", "rejected")
    comment = f.Personal("child", f.Text(500, multiline=True, required=False))
