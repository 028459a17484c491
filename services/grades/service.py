"""The grades service: a child's report cards, assignment results, homework and ministry exam
results, shown by the school's display rules.

Entrypoints first; the rules are in ``domain``, the read models in ``projections``. The school's
rules are applied here, not in the gateway: a hidden group average and a document before its
"visible from" date never leave this service.
"""
from __future__ import annotations

from sqlalchemy import select

from servicekit import errors, store
from servicekit.children import ParentSchema
from servicekit.consumer import event_streams
from servicekit.privacy import Privacy
from servicekit.projection import take_in
from servicekit.rpc import rpc
from servicekit.service import Service

from . import domain, projections
from .projections import children
from .schemas import BulletinSchema, ResultsSchema
from .tables import assignments, bulletins, homework, ministry_results, school_settings


class GradesService(Service, Privacy):
    name = "grades"

    # -- events ---------------------------------------------------------------------------------

    @event_streams(name)
    def take_in(self, events):
        """Admit and apply a batch, then hold each result to the school year it was published in
        (``servicekit.projection.take_in``: one that breaks it is dead-lettered with the reason)."""
        return take_in(self.db, events, projections.apply, _check_school_years)

    # -- queries --------------------------------------------------------------------------------

    @rpc
    def results(self, parent_id, student_id, school_year=None):
        """The child's results for one school year (the current one by default): bulletins and
        first communications with their structured content, assignment results per subject,
        ministry exam results, and the years that have results."""
        request = errors.load(ResultsSchema(), {"parent_id": parent_id, "student_id": student_id,
                                                "school_year": school_year})
        today = domain.school_today()
        year = request["school_year"] or domain.school_year_of(today)
        with self.db.begin() as conn:
            children.school_of(conn, parent_id, student_id, "results")
            answer = self._results(conn, student_id, year, today)
        return answer

    @rpc
    def bulletin(self, parent_id, student_id, bulletin_id):
        """One bulletin; a bulletin not yet visible is answered like one that does not exist."""
        errors.load(BulletinSchema(), {"parent_id": parent_id, "student_id": student_id, "bulletin_id": bulletin_id})
        with self.db.begin() as conn:
            children.school_of(conn, parent_id, student_id, "bulletin")
            row = conn.execute(select(bulletins).where(
                bulletins.c.bulletin_id == bulletin_id, bulletins.c.student_id == student_id)).first()
            if row is None or not domain.is_visible(row.visible_from, domain.school_today()):
                raise errors.NotFound("bulletin_not_found", field="bulletin_id")
            rules = self._rules(conn, {row.school_id})
        return _bulletin(row, rules[row.school_id])

    @rpc
    def homework(self, parent_id, student_id):
        """Homework and lessons the teachers published, per subject, soonest due first."""
        with self.db.begin() as conn:
            children.school_of(conn, parent_id, student_id, "homework")
            return self._homework(conn, student_id)

    @rpc
    def export(self, parent_id):
        """Everything grades holds on the parent and their linked children (Law 25): links,
        the parent's reads, and each child's results of every year as the parent may see them."""
        errors.load(ParentSchema(), {"parent_id": parent_id})
        today = domain.school_today()
        with self.db.begin() as conn:
            linked = children.of_parent(conn, parent_id)
            children.log(conn, parent_id, linked, "export")
            kids = []
            for student_id in linked:
                years = self._years(conn, student_id, today)
                kids.append({"student_id": student_id,
                             "results": [self._results(conn, student_id, y, today) for y in years],
                             "homework": self._homework(conn, student_id)})
            return {"service": "grades", "parent_id": parent_id, "links": children.links_of(conn, parent_id),
                    "children": kids, "access_log": children.accesses(conn, parent_id),
                    "events": store.about_parent(conn, parent_id)}

    # -- helpers --------------------------------------------------------------------------------

    def _results(self, conn, student_id: str, year: str, today) -> dict:
        bulletin_rows = [r for r in conn.execute(
            select(bulletins).where(bulletins.c.student_id == student_id, bulletins.c.school_year == year)
            .order_by(bulletins.c.updated_at)).all() if domain.is_visible(r.visible_from, today)]
        assignment_rows = conn.execute(
            select(assignments).where(assignments.c.student_id == student_id, assignments.c.school_year == year)
            .order_by(assignments.c.subject_code, assignments.c.date, assignments.c.result_id)).all()
        ministry_rows = [r for r in conn.execute(
            select(ministry_results).where(ministry_results.c.student_id == student_id,
                                           ministry_results.c.school_year == year)
            .order_by(ministry_results.c.exam_code)).all() if domain.is_visible(r.visible_from, today)]
        rules = self._rules(conn, {r.school_id for r in [*bulletin_rows, *assignment_rows]})
        per_subject: dict[str, dict] = {}
        for r in assignment_rows:
            if not rules[r.school_id].show_assignment_results:
                continue
            subject = per_subject.setdefault(r.subject_code, {
                "subject_code": r.subject_code, "subject_name": r.subject_name, "results": []})
            subject["results"].append(domain.shown_assignment({
                "result_id": r.result_id, "title": r.title, "date": r.date.isoformat(), "points": r.points,
                "out_of": r.out_of, "weight": r.weight, "group_average": r.group_average, "comment": r.comment,
            }, rules[r.school_id]))
        return {
            "school_year": year,
            "school_years": self._years(conn, student_id, today),
            "bulletins": [_bulletin(r, rules[r.school_id]) for r in bulletin_rows],
            "assignments": list(per_subject.values()),
            "ministry_results": [{
                "result_id": r.result_id, "exam_code": r.exam_code, "subject_name": r.subject_name,
                "grade": r.grade, "mark": r.mark, "passed": r.passed} for r in ministry_rows],
        }

    def _years(self, conn, student_id: str, today) -> list[str]:
        """The school years with something the parent may see, newest first, this year always."""
        years = {domain.school_year_of(today)}
        for table in (bulletins, assignments, ministry_results):
            columns = [table.c.school_year] + ([table.c.visible_from] if "visible_from" in table.c else [])
            for row in conn.execute(select(*columns).where(table.c.student_id == student_id).distinct()):
                if domain.is_visible(getattr(row, "visible_from", None), today):
                    years.add(row.school_year)
        return sorted(years, reverse=True)

    def _homework(self, conn, student_id: str) -> list[dict]:
        rows = conn.execute(
            select(homework).where(homework.c.student_id == student_id)
            .order_by(homework.c.due_on, homework.c.subject_code, homework.c.homework_id)).all()
        return [{"homework_id": r.homework_id, "subject_code": r.subject_code, "subject_name": r.subject_name,
                 "kind": r.kind, "title": r.title, "description": r.description,
                 "assigned_on": r.assigned_on.isoformat(), "due_on": r.due_on.isoformat()} for r in rows]

    def _rules(self, conn, school_ids: set[str]) -> dict[str, domain.DisplayRules]:
        """Each school's display rules; the defaults for a school that has said nothing yet."""
        rules = {school_id: domain.DisplayRules() for school_id in school_ids}
        if school_ids:
            for row in conn.execute(select(school_settings).where(school_settings.c.school_id.in_(school_ids))):
                rules[row.school_id] = domain.DisplayRules(row.show_group_averages, row.show_assignment_results)
        return rules


def _check_school_years(conn, fresh: list) -> None:
    for event in fresh:
        if event.type in projections.DATED_EVENTS:
            domain.check_school_year(event.data["school_year"], event.time)


def _bulletin(row, rules: domain.DisplayRules) -> dict:
    # Not the school system's document address: the portal makes the PDF from this content behind
    # its own link and visible-from checks (decision 7).
    return {
        "bulletin_id": row.bulletin_id, "school_year": row.school_year, "kind": row.kind, "term": row.term,
        "published_at": row.updated_at.isoformat(), "subjects": domain.shown_subjects(row.subjects, rules),
    }
