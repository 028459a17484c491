"""Events the notices tests publish, as a school system, linking and identity send them."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from contracts import Envelope
from scripts.school_calendar import current_year, last_school_day
from servicekit.schooltime import school_now



def sis(event_type: str, subject: str, data: dict) -> Envelope:
    return Envelope.new(event_type, "sis", subject, data, correlation_id="school-batch-test")


@dataclass(frozen=True)
class Family:
    """A verified parent and one linked child."""

    parent_id: str
    email: str
    org_id: str
    student_id: str
    school_id: str
    group: str
    first_name: str

    def events(self, locale: str = "fr") -> list[Envelope]:
        return [
            student(self.student_id, self.school_id, self.group, self.first_name, self.org_id),
            Envelope.new("ParentVerified", "identity", self.parent_id,
                         {"parent_id": self.parent_id, "email": self.email, "locale": locale}, correlation_id="id"),
            Envelope.new("ChildLinked", "linking", self.parent_id,
                         {"parent_id": self.parent_id, "student_id": self.student_id, "school_id": self.school_id,
                          "org_id": self.org_id, "method": "email"}, correlation_id="link"),
        ]

    def parent_of(self, other: "Family") -> "Family":
        """This parent as another guardian of ``other``'s child."""
        return Family(self.parent_id, self.email, other.org_id, other.student_id, other.school_id, other.group,
                      other.first_name)


def new_org() -> str:
    """A board of the test's own, so that its messages reach no other test's parents."""
    return f"css-{uuid.uuid4().hex[:8]}"


def family(org: str | None = None, school: str = "ecole-a", group: str = "301", first_name: str = "Léa") -> Family:
    token, org = uuid.uuid4().hex[:8], org or new_org()
    return Family(str(uuid.uuid4()), f"parent.{token}@example.org", org, f"{org}.{token}", f"{org}.{school}",
                  group, first_name)


def student(student_id: str, school_id: str, group: str, first_name: str, org: str) -> Envelope:
    return sis("StudentEnrolled", student_id, {
        "student_id": student_id, "org_id": org, "school_id": school_id, "student_number": "1234567",
        "permanent_code": "GAGL05581812", "last_name": "Gagnon", "first_name": first_name,
        "birth_date": date(2018, 8, 5), "grade": "P3", "group": group})


def message(audience: dict, title: str = "Journée pédagogique") -> Envelope:
    message_id = f"msg-{uuid.uuid4().hex[:10]}"
    full = {"school_id": None, "group": None, "student_id": None, **audience}
    return sis("MessagePublished", message_id, {
        "message_id": message_id, "audience": full, "title": title, "body": "Le service de garde sera ouvert.",
        "published_at": school_now(), "author": "Hélène Tremblay, directrice"})


def absence(student_id: str, school_id: str, day: date | None = None) -> Envelope:
    return sis("AbsenceRecorded", student_id, {
        "absence_id": f"abs-{uuid.uuid4().hex[:10]}", "student_id": student_id, "school_id": school_id,
        "date": day or last_school_day(), "kind": "absence", "period": "full_day",
        "requires_justification": True})


def detention(student_id: str, day: date) -> Envelope:
    return sis("DetentionRecorded", student_id, {
        "detention_id": f"ret-{uuid.uuid4().hex[:8]}", "student_id": student_id, "date": day, "start": "15:10",
        "end": "16:10", "reason": "Travaux non remis", "location": "C-110"})


def homework(student_id: str, school_id: str, due: date) -> Envelope:
    return sis("HomeworkPublished", student_id, {
        "homework_id": f"dev-{uuid.uuid4().hex[:8]}", "student_id": student_id, "school_id": school_id,
        "subject_code": "FRA", "subject_name": "Français", "kind": "homework", "title": "Lire le chapitre 3",
        "description": "Questions 1 à 5.", "assigned_on": due - timedelta(days=3), "due_on": due})


def school_calendar(school_id: str, day_off: date) -> Envelope:
    """The school year of ``day_off``, whose one day off is a pedagogical day on ``day_off``."""
    published = current_year(day_off).calendar(school_id, [{"code": "MAL", "label_fr": "Maladie",
                                                            "label_en": "Illness"}])
    published["days_off"] = [{"date": day_off, "label": "Journée pédagogique"}]
    return sis("SchoolCalendarPublished", school_id, published)
