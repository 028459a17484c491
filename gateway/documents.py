"""The PDFs the portal makes for parents: a report card and a daycare tax receipt (decision 7).

Each is drawn from the owning service's answer, so it holds nothing the parent could not already
read in the API (grades has removed hidden group averages and refused a bulletin before its
visible-from date), plus the child and school as linking names them. Labels come from the
catalogue, dates and amounts from CLDR (Babel), in the request's language. The font is DejaVu
Sans, embedded: every accent of French, and the names of children from everywhere.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from pathlib import Path

from babel.dates import format_date
from babel.numbers import format_currency, format_percent
from fpdf import FPDF, FontFace

from servicekit.schooltime import school_today

from .messages import Catalogue

# Debian's fonts-dejavu-core (scripts/setup.sh, deploy/container/Dockerfile).
FONTS = Path("/usr/share/fonts/truetype/dejavu")
LOCALES = {"fr": "fr_CA", "en": "en_CA"}
MARGIN = 18  # mm
GREY = (90, 90, 90)
RULE = (200, 200, 200)


def bulletin(answer: dict, child: dict, language: str, catalogue: Catalogue) -> tuple[str, bytes]:
    """(file name, PDF) of one bulletin as grades answered it: each subject with its
    competencies, mark or rating, the group average where the school shows it, the comments."""
    say = _say(catalogue, language)
    kind = answer["kind"]
    title = say(f"pdf_bulletin_{kind}", term=answer.get("term"))
    pdf = _document(title, child, language, say)
    pdf.set_font(size=11)
    for line in (say("pdf_student", name=_name(child)), say("pdf_school_year", school_year=answer["school_year"]),
                 say("pdf_published_on", date=_date(school_today(datetime.fromisoformat(answer["published_at"])),
                                                    language))):
        pdf.cell(text=line, new_x="LMARGIN", new_y="NEXT", h=6)
    pdf.ln(4)
    averages = any("group_average" in s for s in answer["subjects"])
    headings = [say("pdf_subject"), say("pdf_result"), *([say("pdf_group_average")] if averages else []),
                say("pdf_comment")]
    widths = (70, 22, 24, 64) if averages else (78, 24, 78)
    pdf.set_font(size=9)
    with pdf.table(col_widths=widths, text_align=["LEFT", "CENTER", *(["CENTER"] if averages else []), "LEFT"],
                   headings_style=FontFace(emphasis="BOLD", fill_color=(235, 235, 235)),
                   borders_layout="HORIZONTAL_LINES", line_height=5, padding=1.5) as table:
        table.row(headings)
        for subject in answer["subjects"]:
            row = table.row()
            row.cell(subject["name"], style=FontFace(emphasis="BOLD"))
            row.cell(_result(subject, language))
            if averages:
                row.cell(_percent(subject.get("group_average"), language))
            row.cell(subject.get("comment") or "")
            for competency in subject.get("competencies") or []:
                row = table.row()
                row.cell(f"    {competency['name']}")
                row.cell(_result(competency, language))
                if averages:
                    row.cell("")
                row.cell(competency.get("comment") or "")
    return _file_name(title, answer["school_year"]), bytes(pdf.output())


def tax_receipt(answer: dict, child: dict, language: str, catalogue: Catalogue) -> tuple[str, bytes]:
    """(file name, PDF) of one daycare tax receipt as billing answered it."""
    say = _say(catalogue, language)
    title = say("pdf_receipt_rl24" if answer["form"] == "RL-24" else "pdf_receipt_federal")
    pdf = _document(title, child, language, say)
    pdf.set_font(size=11)
    with pdf.table(col_widths=(60, 120), first_row_as_headings=False, borders_layout="HORIZONTAL_LINES",
                   line_height=7, padding=1.5) as table:
        for label, value in (
                (say("pdf_tax_year"), str(answer["year"])),
                (say("pdf_issued_to"), answer["recipient_name"]),
                (say("pdf_child"), _name(child)),
                (say("pdf_school"), child["school"]["name"] or ""),
                (say("pdf_childcare_fees"), _money(answer["amount_cents"], language)),
                (say("pdf_issued_on"), _date(date.fromisoformat(answer["issued_on"]), language)),
                (say("pdf_receipt_number"), answer["receipt_id"])):
            row = table.row()
            row.cell(label, style=FontFace(emphasis="BOLD"))
            row.cell(value)
    return _file_name(title, str(answer["year"])), bytes(pdf.output())


# -- the page ------------------------------------------------------------------------------------

class _Page(FPDF):
    """Letter size (Québec's paper); the school and the child at the top of each page, who made
    the document and the page number at the bottom."""

    def __init__(self, school: str, board: str, student: str, footer: str, page_label):
        super().__init__(format="Letter")
        self.school, self.board, self.student = school, board, student
        self.footer_text, self.page_label = footer, page_label
        self.set_margins(MARGIN, MARGIN)
        self.set_auto_page_break(True, margin=MARGIN + 6)
        self.add_font("DejaVu", "", FONTS / "DejaVuSans.ttf")
        self.add_font("DejaVu", "B", FONTS / "DejaVuSans-Bold.ttf")

    def header(self):
        self.set_font("DejaVu", "B", 12)
        self.cell(text=self.school, h=6)
        self.set_font("DejaVu", "", 10)
        self.cell(w=0, text=self.student, align="R", new_x="LMARGIN", new_y="NEXT", h=6)
        self.set_font("DejaVu", "", 9)
        self.set_text_color(*GREY)
        self.cell(text=self.board, new_x="LMARGIN", new_y="NEXT", h=5)
        self.set_draw_color(*RULE)
        self.line(MARGIN, self.get_y() + 2, self.w - MARGIN, self.get_y() + 2)
        self.set_text_color(0)
        self.set_y(self.get_y() + 6)

    def footer(self):
        self.set_y(-MARGIN - 2)
        self.set_font("DejaVu", "", 8)
        self.set_text_color(*GREY)
        self.multi_cell(w=self.epw - 30, text=self.footer_text, h=4, align="L")
        self.set_xy(self.w - MARGIN - 30, -MARGIN - 2)
        self.cell(w=30, text=self.page_label(self.page_no()), align="R", h=4)
        self.set_text_color(0)


def _document(title: str, child: dict, language: str, say) -> FPDF:
    pdf = _Page(child["school"]["name"] or "", child["org"]["name"] or "", _name(child),
                say("pdf_made_by", date=_date(school_today(), language)),
                lambda page: say("pdf_page", page=page, pages="{nb}"))
    pdf.set_title(title)
    pdf.set_author("Portail Parents")
    pdf.set_lang(f"{language}-CA")
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 16)
    pdf.multi_cell(w=0, text=title, h=8, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font("DejaVu", "")
    return pdf


# -- words, numbers and dates as each language writes them ------------------------------------------

def _say(catalogue: Catalogue, language: str):
    return lambda code, **params: catalogue.message(code, language, params)


def _name(child: dict) -> str:
    return f"{child['first_name']} {child['last_name']}"


def _result(part: dict, language: str) -> str:
    """A mark as a percentage, or the school's rating (A, B+...)."""
    if part.get("mark") is not None:
        return _percent(part["mark"], language)
    return part.get("rating") or "—"


def _percent(mark: int | None, language: str) -> str:
    return "—" if mark is None else format_percent(mark / 100, locale=LOCALES[language])


def _money(cents: int, language: str) -> str:
    return format_currency(cents / 100, "CAD", locale=LOCALES[language])


def _date(day: date, language: str) -> str:
    return format_date(day, format="long", locale=LOCALES[language])


def _file_name(title: str, year: str) -> str:
    """An ASCII name a phone and every browser keep as is: « Bulletin, étape 1 » of 2026-2027
    downloads as bulletin-etape-1-2026-2027.pdf."""
    plain = unicodedata.normalize("NFKD", f"{title} {year}").encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-") + ".pdf"
