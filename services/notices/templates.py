"""The mails notices sends, in French and in English.

One catalogue per language (``FR``, ``EN``): each mail's subject, its sentence, the action that
leads to its screen, and how the language writes dates, times and amounts (Babel, with the
catalogue's patterns; fr-CA: « mardi 1er décembre », « 15 h 10 », « 169,00 $ »; en-CA: "Tuesday,
December 1", "3:10 p.m.", "$169.00").
``notification``, ``digest`` and ``verification_code`` make a mail's content; ``page`` frames it
with the greeting and the footer, as plain text and as HTML with the portal's look. Every value is
escaped in the HTML part: a school's title or a first name is text, never markup.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal
from html import escape

from babel.dates import format_date, format_time
from babel.lists import format_list
from babel.numbers import format_currency

LOCALES = ("fr", "en")

# identity's rule (services/identity/domain.py): a code is valid this many minutes, and a new one cancels it.
CODE_VALID_MINUTES = 15
FLOWS = ("register", "reset", "claim")

FR = {
    "language": "fr-CA",
    "babel": "fr_CA",
    "greeting": "Bonjour,",
    "automatic": "Ce courriel est envoyé automatiquement; n'y répondez pas.",
    "preferences": "Choisir les courriels que vous recevez",
    "colon": " :",
    "child": "votre enfant",
    # Babel's patterns (CLDR): « mardi 1er décembre », « 1er décembre 2026 », « 15 h 10 », « 8 h ».
    "day": "EEEE d MMMM",
    "date": "d MMMM y",
    "first": "'1er'",  # the first of the month, as Québec writes it
    "time": "H 'h' mm",
    "hour": "H 'h'",
    "terms": ("1re", "2e", "3e"),
    "verification_code.subject": "Votre code de vérification : {code}",
    "verification_code.text": "Voici votre code de vérification {purpose} dans le Portail Parents :",
    "verification_code.rules": "Il est valide pendant {minutes} minutes. Si vous demandez un nouveau code, celui-ci "
                               "ne sera plus valide : utilisez toujours le dernier code reçu.\n\n"
                               "Si vous n'avez rien demandé, ignorez ce courriel; votre compte n'est pas modifié.",
    "verification_code.register": "pour créer votre compte",
    "verification_code.reset": "pour choisir un nouveau mot de passe",
    "verification_code.claim": "pour confirmer l'adresse courriel que vous avez fournie à l'école",
    "absence.subject": "Absence enregistrée pour {child} le {day}",
    "absence.sentence": "Une absence de {child} a été enregistrée le {day}.",
    "lateness.subject": "Retard enregistré pour {child} le {day}",
    "lateness.sentence": "Un retard de {child} a été enregistré le {day}.",
    "absence.justify": "L'école demande un motif : vous pouvez le donner dans le Portail Parents.",
    "absence.action": "Voir les absences de {child}",
    "bulletin.subject": "Nouveau bulletin pour {child}",
    "bulletin.term": "Le bulletin de la {term} étape de {child} est disponible (année scolaire {school_year}).",
    "bulletin.first_communication": "La première communication de {child} est disponible "
                                    "(année scolaire {school_year}).",
    "bulletin.final": "Le bulletin final de {child} est disponible (année scolaire {school_year}).",
    "bulletin.action": "Voir les résultats de {child}",
    "statement.subject": "Nouvel état de compte pour {child}",
    "statement.sentence": "Un nouvel état de compte de {total} pour {child} est disponible ({account}, {period}).",
    "statement.details": "Solde : {balance}\nÀ payer au plus tard le {due_date}\n"
                         "Référence de paiement à donner à votre institution financière : {reference}",
    "statement.school": "école",
    "statement.sports": "Intersport",
    "statement.daycare": "service de garde",
    "statement.action": "Voir les finances de {child}",
    "detention.subject": "Retenue pour {child} le {day}",
    "detention.sentence": "{child} a une retenue le {day}, de {start} à {end}{place}.",
    "detention.place": ", local {place}",
    "detention.reason": "Motif : {reason}",
    "detention.action": "Voir l'agenda de {child}",
    "message.subject": "Message de l'école : {title}",
    "message.sentence": "L'école vous adresse un message comme parent de {children} : « {title} ».",
    "message.author": "De : {author}",
    "message.action": "Lire le message dans le Portail Parents",
    "reenrollment.subject": "La réinscription {school_year} est ouverte",
    "reenrollment.sentence": "À titre de répondant principal, vous pouvez confirmer la réinscription de {children} "
                             "pour l'année scolaire {school_year} dans le Portail Parents, du {opens_on} au "
                             "{closes_on}.",
    "reenrollment.action": "Répondre à la réinscription",
    "digest.subject": "Votre résumé du Portail Parents",
    "digest.intro": "Voici les nouvelles depuis votre dernier résumé :",
}

EN = {
    "language": "en-CA",
    "babel": "en_CA",
    "greeting": "Hello,",
    "automatic": "This email is sent automatically; please do not reply.",
    "preferences": "Choose which emails you receive",
    "colon": ":",
    "child": "your child",
    "day": "EEEE, MMMM d",
    "date": "MMMM d, y",
    "first": "d",
    "time": "h:mm a",
    "hour": "h a",
    "terms": ("1", "2", "3"),
    "verification_code.subject": "Your verification code: {code}",
    "verification_code.text": "Here is your verification code {purpose} in Portail Parents:",
    "verification_code.rules": "It is valid for {minutes} minutes. If you ask for a new code, this one will no longer "
                               "work: always use the last code you received.\n\n"
                               "If you did not ask for anything, ignore this email; your account is unchanged.",
    "verification_code.register": "to create your account",
    "verification_code.reset": "to choose a new password",
    "verification_code.claim": "to confirm the email address you gave the school",
    "absence.subject": "Absence recorded for {child} on {day}",
    "absence.sentence": "An absence was recorded for {child} on {day}.",
    "lateness.subject": "Lateness recorded for {child} on {day}",
    "lateness.sentence": "{child} was recorded late on {day}.",
    "absence.justify": "The school asks for a reason: you can give it in Portail Parents.",
    "absence.action": "See {child}'s absences",
    "bulletin.subject": "New report card for {child}",
    "bulletin.term": "{child}'s term {term} report card is available ({school_year} school year).",
    "bulletin.first_communication": "{child}'s first communication is available ({school_year} school year).",
    "bulletin.final": "{child}'s final report card is available ({school_year} school year).",
    "bulletin.action": "See {child}'s results",
    "statement.subject": "New statement of account for {child}",
    "statement.sentence": "A new statement of account of {total} for {child} is available ({account}, {period}).",
    "statement.details": "Balance: {balance}\nDue by {due_date}\nPayment reference to give your bank: {reference}",
    "statement.school": "school",
    "statement.sports": "Intersport",
    "statement.daycare": "daycare",
    "statement.action": "See {child}'s finances",
    "detention.subject": "Detention for {child} on {day}",
    "detention.sentence": "{child} has a detention on {day}, from {start} to {end}{place}.",
    "detention.place": ", room {place}",
    "detention.reason": "Reason: {reason}",
    "detention.action": "See {child}'s agenda",
    "message.subject": "Message from the school: {title}",
    "message.sentence": "The school sent you a message as the parent of {children}: “{title}”.",
    "message.author": "From: {author}",
    "message.action": "Read the message in Portail Parents",
    "reenrollment.subject": "Re-enrolment for {school_year} is open",
    "reenrollment.sentence": "As principal guardian, you can confirm the re-enrolment of {children} for the "
                             "{school_year} school year in Portail Parents, from {opens_on} to {closes_on}.",
    "reenrollment.action": "Answer the re-enrolment",
    "digest.subject": "Your Portail Parents summary",
    "digest.intro": "Here is what is new since your last summary:",
}

CATALOGUES = {"fr": FR, "en": EN}

# The portal's look (web/src/style.css), inline: mail clients drop style sheets.
BRAND, INK, MUTED, WASH, LINE = "#0b4f8a", "#1b1f24", "#4a5561", "#f2f5f8", "#c5ced8"
FONT = "system-ui,-apple-system,'Segoe UI',Roboto,sans-serif"


@dataclass(frozen=True)
class Mail:
    """A mail's content before its frame: the subject, the text and the same in HTML."""

    subject: str
    text: str
    html: str


# -- how each language writes -----------------------------------------------------------------

def day(value: date, locale: str) -> str:
    """A day of the school week: « mardi 1er décembre », "Tuesday, December 1"."""
    return _date(value, "day", locale)


def long_date(value: date, locale: str) -> str:
    """A date with its year: « 1er décembre 2026 », "December 1, 2026"."""
    return _date(value, "date", locale)


def _date(value: date, pattern: str, locale: str) -> str:
    words = CATALOGUES[locale]
    pattern = words[pattern]
    if value.day == 1:
        pattern = pattern.replace("d", words["first"], 1)
    return format_date(value, pattern, locale=words["babel"])


def clock(value: time, locale: str) -> str:
    """A time of day: « 15 h 10 », « 8 h »; "3:10 p.m.", "8 a.m."."""
    words = CATALOGUES[locale]
    return format_time(value, words["time"] if value.minute else words["hour"], locale=words["babel"])


def money(cents: int, locale: str) -> str:
    """Amounts as each language writes them: 85,50 $ and $85.50."""
    return format_currency(Decimal(cents).scaleb(-2), "CAD", locale=CATALOGUES[locale]["babel"])


def listing(names: list[str], locale: str) -> str:
    """« Léa, Noah et Zoé », "Léa, Noah and Zoé"."""
    return format_list(names, locale=CATALOGUES[locale]["babel"])


def child_name(first_name: str | None, locale: str) -> str:
    return first_name or CATALOGUES[locale]["child"]


# -- the mails --------------------------------------------------------------------------------

def notification(kind: str, locale: str, values: dict, link: str) -> Mail:
    """The mail about one event; ``values`` as ``notifications`` reads them from the event (dates,
    times and cents, the children's first names), ``link`` the screen that shows it."""
    words = CATALOGUES[locale]
    children = [child_name(name, locale) for name in values["children"]]
    fields = {"child": children[0], "children": listing(children, locale)}
    paragraphs: list[str] = []
    if kind == "absence":
        fields["day"] = day(values["date"], locale)
        subject, paragraphs = f"{values['what']}.subject", [f"{values['what']}.sentence"]
        if values["requires_justification"]:
            paragraphs.append("absence.justify")
    elif kind == "bulletin":
        fields.update(school_year=values["school_year"],
                      term=words["terms"][values["term"] - 1] if values["term"] else "")
        subject, paragraphs = "bulletin.subject", [f"bulletin.{values['what']}"]
    elif kind == "statement":
        fields.update(total=money(values["total"], locale), balance=money(values["balance"], locale),
                      account=words[f"statement.{values['account']}"], period=values["period"],
                      due_date=long_date(values["due_date"], locale), reference=values["reference"])
        subject, paragraphs = "statement.subject", ["statement.sentence", "statement.details"]
    elif kind == "detention":
        fields.update(day=day(values["date"], locale), start=clock(values["start"], locale),
                      end=clock(values["end"], locale), reason=values["reason"],
                      place=words["detention.place"].format(place=values["place"]) if values["place"] else "")
        subject, paragraphs = "detention.subject", ["detention.sentence", "detention.reason"]
    elif kind == "message":
        fields.update(title=values["title"], author=values["author"])
        subject, paragraphs = "message.subject", ["message.sentence", "message.author"]
    else:  # reenrollment
        fields.update(school_year=values["school_year"], opens_on=long_date(values["opens_on"], locale),
                      closes_on=long_date(values["closes_on"], locale))
        subject, paragraphs = "reenrollment.subject", ["reenrollment.sentence"]
    blocks = [_paragraph(words[key].format(**fields)) for key in paragraphs]
    if kind == "message":
        blocks.append(_paragraph(values["body"]))
    blocks.append(_action(words[f"{kind}.action"].format(**fields), link, locale))
    return _mail(words[subject].format(**fields), blocks)


def digest(locale: str, items: list[tuple[str, str]]) -> Mail:
    """One mail for a day's news: each (subject, link) as a line that leads to its screen."""
    words = CATALOGUES[locale]
    text = "\n".join(f"• {subject}\n  {link}" for subject, link in items)
    html = "<ul>" + "".join(f'<li><a href="{escape(link)}" style="color:{BRAND};">{escape(subject)}</a></li>'
                            for subject, link in items) + "</ul>"
    return _mail(words["digest.subject"], [_paragraph(words["digest.intro"]), (text, html)])


def verification_code(code: str, locale: str, flow: str) -> Mail:
    words = CATALOGUES[locale]
    text = words["verification_code.text"].format(purpose=words[f"verification_code.{flow}"])
    shown = (f"    {code}", f'<p style="font-size:28px;font-weight:700;letter-spacing:4px;">{escape(code)}</p>')
    return _mail(words["verification_code.subject"].format(code=code),
                 [_paragraph(text), shown,
                  _paragraph(words["verification_code.rules"].format(minutes=CODE_VALID_MINUTES))])


def page(locale: str, mail: Mail, preferences: str | None = None) -> tuple[str, str]:
    """The whole mail as (text, HTML): greeting, content, and a footer with the link to the
    notification preferences (``preferences``, for notifications)."""
    words = CATALOGUES[locale]
    footer = [_action(words["preferences"], preferences, locale)] if preferences else []
    footer.append(_paragraph(words["automatic"]))
    text = "\n\n".join([words["greeting"], mail.text, "—\nPortail Parents\n" + "\n\n".join(t for t, _ in footer)])
    footer_html = "".join(html for _, html in footer)
    html = (
        f'<!DOCTYPE html>\n<html lang="{words["language"]}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{escape(mail.subject)}</title>'
        f'</head><body style="margin:0;padding:0;background:{WASH};">'
        f'<div role="article" aria-label="{escape(mail.subject)}" lang="{words["language"]}" '
        f'style="max-width:600px;margin:0 auto;background:#ffffff;color:{INK};font-family:{FONT};font-size:16px;'
        f'line-height:1.5;">'
        f'<p style="margin:0;padding:12px 16px;background:{BRAND};color:#ffffff;font-weight:700;font-size:18px;">'
        f'Portail Parents</p>'
        f'<div style="padding:8px 16px;"><p>{escape(words["greeting"])}</p>{mail.html}</div>'
        f'<div style="padding:8px 16px;border-top:1px solid {LINE};color:{MUTED};font-size:14px;">{footer_html}</div>'
        f'</div></body></html>'
    )
    return text, html


def as_html(text: str) -> str:
    """Plain text as HTML paragraphs."""
    return "".join(_paragraph(part)[1] for part in text.split("\n\n"))


# -- blocks: each one (text, HTML) -------------------------------------------------------------

def _paragraph(text: str) -> tuple[str, str]:
    return text, f"<p>{escape(text).replace(chr(10), '<br>')}</p>"


def _action(label: str, link: str, locale: str) -> tuple[str, str]:
    return (f"{label}{CATALOGUES[locale]['colon']}\n{link}",
            f'<p><a href="{escape(link)}" style="color:{BRAND};font-weight:700;">{escape(label)}</a></p>')


def _mail(subject: str, blocks: list[tuple[str, str]]) -> Mail:
    return Mail(subject, "\n\n".join(t for t, _ in blocks), "".join(h for _, h in blocks))
