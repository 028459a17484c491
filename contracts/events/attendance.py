"""Absences, lateness, the school calendar and the agenda (attendance owns them)."""
from marshmallow import validates_schema

from .. import fields as f
from .. import rules
from ..registry import EventSchema, Part, event

STUDENT = "css-trois-lacs.1234567"
SCHOOL = "css-trois-lacs.ecole-du-ruisseau"


@event("sis", subject="student_id", consumers=("attendance", "notices"), example={
    "absence_id": "abs-2026-000187", "student_id": STUDENT, "school_id": SCHOOL,
    "date": "2026-11-16", "kind": "lateness", "period": "period", "period_number": 1,
    "start_time": "08:10", "end_time": None, "minutes_late": 12, "reason_code": None,
    "requires_justification": True})
class AbsenceRecorded(EventSchema):
    """The school recorded an absence or a lateness."""
    absence_id = f.Id()
    student_id = f.Id()
    school_id = f.Id()
    date = f.Date()
    kind = f.Choice("absence", "lateness")
    period = f.Choice("full_day", "am", "pm", "period")
    period_number = f.Count(1, 12, required=False, metadata={
        "description": "required when period is 'period'"})
    start_time = f.Time(required=False)
    end_time = f.Time(required=False)
    minutes_late = f.Count(1, 480, required=False, metadata={
        "description": "required for a lateness, absent for an absence"})
    reason_code = f.Text(20, required=False, metadata={
        "description": "one of the school calendar's absence_reasons; absent if not justified"})
    requires_justification = f.Flag()

    present_when = {"period_number": ("period", ("period",)),
                    "minutes_late": ("kind", ("lateness",))}

    @validates_schema
    def _rules(self, data, **kwargs):
        rules.strictly_after(data, "end_time", "start_time")


@event("sis", subject="student_id", consumers=("attendance", "notices"), example={
    "absence_id": "abs-2026-000187", "student_id": STUDENT})
class AbsenceCancelled(EventSchema):
    """The school removed an absence it had recorded by mistake."""
    absence_id = f.Id()
    student_id = f.Id()


class DayOff(Part):
    date = f.Date()
    label = f.Text(100)


class AbsenceReason(Part):
    code = f.Text(20)
    label_fr = f.Text(100)
    label_en = f.Text(100)


@event("sis", subject="school_id", consumers=("attendance", "notices"), example={
    "school_id": SCHOOL, "school_year": "2026-2027", "first_day": "2026-08-27",
    "last_day": "2027-06-22",
    "days_off": [{"date": "2026-09-07", "label": "Fête du Travail"},
                 {"date": "2026-10-12", "label": "Action de grâce"}],
    "day_start": "08:00", "day_end": "15:05",
    "absence_reasons": [{"code": "MAL", "label_fr": "Maladie", "label_en": "Illness"},
                        {"code": "RDV", "label_fr": "Rendez-vous médical",
                         "label_en": "Medical appointment"}]})
class SchoolCalendarPublished(EventSchema):
    """A school's calendar for a year: school days are the weekdays from first_day to last_day
    except `days_off` (holidays, pedagogical days, breaks); bell times; the reasons parents pick
    from when they declare or justify an absence. Replaces the previous one for that year."""
    school_id = f.Id()
    school_year = f.SchoolYear()
    first_day = f.Date()
    last_day = f.Date()
    days_off = f.NestedList(DayOff, max_items=200)
    day_start = f.Time()
    day_end = f.Time()
    absence_reasons = f.NestedList(AbsenceReason, min_items=1, max_items=50)

    @validates_schema
    def _rules(self, data, **kwargs):
        rules.strictly_after(data, "last_day", "first_day")
        rules.strictly_after(data, "day_end", "day_start")
        rules.in_year(data, "first_day", int(data["school_year"][:4]))
        rules.each_between(data, "days_off", "date", "first_day", "last_day")
        rules.no_duplicates(data, "days_off", key=lambda day: day["date"])
        rules.no_duplicates(data, "absence_reasons", key=lambda reason: reason["code"])


class TimetableEntry(Part):
    day = f.Count(1, 20, metadata={
        "description": "weekday 1 (Monday) to 7, or day of the cycle 1 to cycle_length"})
    start = f.Time()
    end = f.Time()
    course_code = f.Text(20)
    course_name = f.Text(150, required=False)
    room = f.Text(20, required=False)

    @validates_schema
    def _rules(self, data, **kwargs):
        rules.strictly_after(data, "end", "start")


@event("sis", subject="student_id", consumers=("attendance",), example={
    "student_id": STUDENT, "school_year": "2026-2027", "cycle_length": 9,
    "entries": [{"day": 1, "start": "08:15", "end": "09:30", "course_code": "MAT406",
                 "course_name": "Mathématique", "room": "B-214"},
                {"day": 1, "start": "09:45", "end": "11:00", "course_code": "FRA406",
                 "course_name": "Français", "room": "A-102"}]})
class TimetablePublished(EventSchema):
    """A (secondary) student's timetable for the year, replacing the previous one. Schools on a
    day cycle give `cycle_length` (e.g. 9 days); a weekly timetable leaves it null."""
    student_id = f.Id()
    school_year = f.SchoolYear()
    cycle_length = f.Count(2, 20, required=False)
    entries = f.NestedList(TimetableEntry, max_items=200)

    @validates_schema
    def _rules(self, data, **kwargs):
        last_day = data["cycle_length"] or 7
        for index, entry in enumerate(data["entries"]):
            if entry["day"] > last_day:
                raise rules.ValidationError(
                    {"entries": {index: {"day": [f"Must be less than or equal to {last_day}."]}}})


@event("sis", subject="student_id", consumers=("attendance", "notices"), example={
    "detention_id": "ret-2026-0031", "student_id": STUDENT, "date": "2026-11-19",
    "start": "15:10", "end": "16:10", "reason": "Travaux non remis", "location": "Local C-110"})
class DetentionRecorded(EventSchema):
    """A detention (retenue) the student must attend."""
    detention_id = f.Id()
    student_id = f.Id()
    date = f.Date()
    start = f.Time()
    end = f.Time()
    reason = f.Personal("child", f.Text(300))
    location = f.Text(100, required=False)

    @validates_schema
    def _rules(self, data, **kwargs):
        rules.strictly_after(data, "end", "start")


@event("attendance", subject="student_id", consumers=("sis",), example={
    "declaration_id": "7d1f8a9e-2b3c-4d5e-8f60-718293a4b5c6", "student_id": STUDENT,
    "school_id": SCHOOL, "parent_id": "0f5e2d8a-3c41-4b7e-9d2a-6c1b8e4f7a90",
    "start_date": "2026-11-24", "end_date": "2026-11-24", "kind": "late_arrival",
    "time": "12:30", "reason_code": "RDV", "explanation": "Rendez-vous chez le dentiste."})
class AbsenceDeclared(EventSchema):
    """A parent tells the school about an upcoming absence: full days over a range, or on one day
    arriving late (at `time`) or leaving early (at `time`)."""
    declaration_id = f.Uuid()
    student_id = f.Id()
    school_id = f.Id()
    parent_id = f.Uuid()
    start_date = f.Date()
    end_date = f.Date()
    kind = f.Choice("full_day", "late_arrival", "early_departure")
    time = f.Time(required=False, metadata={"description": "late arrival / early departure only"})
    reason_code = f.Text(20)
    explanation = f.Personal("parent", f.Text(500, multiline=True, required=False))

    present_when = {"time": ("kind", ("late_arrival", "early_departure"))}

    @validates_schema
    def _rules(self, data, **kwargs):
        rules.not_before(data, "end_date", "start_date")
        if data["kind"] != "full_day":
            rules.equals(data, "end_date", data["start_date"], "start_date for a partial day")


@event("attendance", subject="student_id", consumers=("sis",), example={
    "absence_id": "abs-2026-000187", "student_id": STUDENT,
    "parent_id": "0f5e2d8a-3c41-4b7e-9d2a-6c1b8e4f7a90", "reason_code": "MAL",
    "explanation": None, "document_ref": None})
class AbsenceMotivated(EventSchema):
    """A parent justifies (motive) an absence the school recorded."""
    absence_id = f.Id()
    student_id = f.Id()
    parent_id = f.Uuid()
    reason_code = f.Text(20)
    explanation = f.Personal("parent", f.Text(500, multiline=True, required=False))
    document_ref = f.Personal("parent", f.Text(200, required=False, metadata={
        "description": "reference of a supporting document the school system can fetch"}))
