"""Report cards, assignment results, homework, ministry exams (grades owns them)."""
from marshmallow import validates_schema

from .. import fields as f
from .. import rules
from ..registry import EventSchema, Part, event

STUDENT = "css-trois-lacs.1234567"
SCHOOL = "css-trois-lacs.ecole-du-ruisseau"


def Mark(**kwargs):
    """A percentage, 0 to 100, as the bulletin shows it."""
    return f.Count(0, 100, **kwargs)


class Competency(Part):
    name = f.Text(150)
    mark = Mark(required=False)
    rating = f.Text(10, required=False, metadata={
        "description": "a letter or word when the school rates instead of marking (A, B+...)"})
    comment = f.Text(1000, multiline=True, required=False)


class SubjectResult(Part):
    code = f.Text(20)
    name = f.Text(150)
    competencies = f.NestedList(Competency, max_items=10)
    mark = Mark(required=False)
    group_average = Mark(required=False, metadata={
        "description": "shown only where the school shows group averages"})
    comment = f.Text(1000, multiline=True, required=False)


@event("sis", subject="student_id", consumers=("grades", "notices"), example={
    "bulletin_id": "bul-2026-1-1234567", "student_id": STUDENT, "school_id": SCHOOL,
    "school_year": "2026-2027", "kind": "term", "term": 1, "visible_from": "2026-11-20",
    "subjects": [{"code": "FRA", "name": "Français, langue d'enseignement",
                  "competencies": [{"name": "Lire", "mark": 84, "rating": None, "comment": None},
                                   {"name": "Écrire", "mark": 78, "rating": None,
                                    "comment": None}],
                  "mark": 81, "group_average": 76, "comment": "Belle progression."}],
    "document_url": "https://sis.trois-lacs.example.org/bulletins/bul-2026-1-1234567.pdf"})
class BulletinPublished(EventSchema):
    """A report card or the first communication. The PDF is not on the bus (size): the school
    system serves it and gives its address in `document_url`."""
    bulletin_id = f.Id()
    student_id = f.Id()
    school_id = f.Id()
    school_year = f.SchoolYear()
    kind = f.Choice("first_communication", "term", "final")
    term = f.Count(1, 3, required=False, metadata={"description": "required when kind is term"})
    visible_from = f.Date(required=False)
    subjects = f.NestedList(SubjectResult, max_items=40)
    document_url = f.Url(required=False)

    present_when = {"term": ("kind", ("term",))}

    @validates_schema
    def _rules(self, data, **kwargs):
        rules.no_duplicates(data, "subjects", key=lambda subject: subject["code"])


@event("sis", subject="student_id", consumers=("grades",), example={
    "result_id": "trv-88120", "student_id": STUDENT, "school_id": SCHOOL,
    "school_year": "2026-2027", "subject_code": "MAT", "subject_name": "Mathématique",
    "title": "Situation d'application 2", "date": "2026-11-12", "points": 17, "out_of": 20,
    "weight": 10, "group_average": 72, "comment": None})
class AssignmentResultPublished(EventSchema):
    """A teacher published an assignment's result: `points` out of `out_of`."""
    result_id = f.Id()
    student_id = f.Id()
    school_id = f.Id()
    school_year = f.SchoolYear()
    subject_code = f.Text(20)
    subject_name = f.Text(150)
    title = f.Text(200)
    date = f.Date()
    points = f.Count(0, 1000)
    out_of = f.Count(1, 1000)
    weight = f.Count(0, 100, required=False, metadata={"description": "percent of the term"})
    group_average = Mark(required=False)
    comment = f.Personal("child", f.Text(1000, multiline=True, required=False))

    @validates_schema
    def _rules(self, data, **kwargs):
        if data["points"] > data["out_of"]:
            raise rules.ValidationError("Must not be more than out_of.", "points")


@event("sis", subject="student_id", consumers=("grades", "notices"), example={
    "homework_id": "dev-55012", "student_id": STUDENT, "school_id": SCHOOL,
    "subject_code": "FRA", "subject_name": "Français", "kind": "homework",
    "title": "Lire le chapitre 3", "description": "Répondre aux questions 1 à 5.",
    "assigned_on": "2026-11-16", "due_on": "2026-11-19"})
class HomeworkPublished(EventSchema):
    """Homework or a lesson a teacher published for the student's group (sent per student)."""
    homework_id = f.Id()
    student_id = f.Id()
    school_id = f.Id()
    subject_code = f.Text(20)
    subject_name = f.Text(150)
    kind = f.Choice("homework", "lesson")
    title = f.Text(200)
    description = f.Text(2000, multiline=True, required=False)
    assigned_on = f.Date()
    due_on = f.Date()

    @validates_schema
    def _rules(self, data, **kwargs):
        rules.not_before(data, "due_on", "assigned_on")


@event("sis", subject="student_id", consumers=("grades",), example={
    "result_id": "mee-2027-1234567-063414", "student_id": STUDENT, "school_id": SCHOOL,
    "school_year": "2026-2027", "exam_code": "063414", "subject_name": "Mathématique CST",
    "grade": "S4", "mark": 74, "passed": True, "visible_from": "2027-07-05"})
class MinistryResultPublished(EventSchema):
    """A ministry exam result (secondary 4 and 5), shown from `visible_from` (about ten days
    after the exams)."""
    result_id = f.Id()
    student_id = f.Id()
    school_id = f.Id()
    school_year = f.SchoolYear()
    exam_code = f.Text(20)
    subject_name = f.Text(150)
    grade = f.Choice("S4", "S5")
    mark = Mark()
    passed = f.Flag()
    visible_from = f.Date()


@event("sis", subject="school_id", consumers=("grades",), example={
    "school_id": SCHOOL, "show_group_averages": False, "show_assignment_results": True})
class SchoolSettingsChanged(EventSchema):
    """What a school chooses to show in the results tile."""
    school_id = f.Id()
    show_group_averages = f.Flag()
    show_assignment_results = f.Flag()
