"""The mails notices sends, in French and in English: (subject, body) per kind and locale.

Placeholders are ``str.format`` fields; ``render`` fills them. Plain text only: it reads the same in
every mail client and leaves no room for injected markup.
"""
from __future__ import annotations

LOCALES = ("fr", "en")

# identity's rule (DESIGN.md §5): a code is valid this many minutes, and a new one cancels it.
CODE_VALID_MINUTES = 15

_CODE_PURPOSE = {
    ("register", "fr"): "pour créer votre compte",
    ("register", "en"): "to create your account",
    ("reset", "fr"): "pour choisir un nouveau mot de passe",
    ("reset", "en"): "to choose a new password",
    ("claim", "fr"): "pour confirmer l'adresse courriel que vous avez fournie à l'école",
    ("claim", "en"): "to confirm the email address you gave the school",
}
FLOWS = ("register", "reset", "claim")

_SIGNATURE = {
    "fr": "\n\n—\nPortail Parents\nCe courriel est envoyé automatiquement; n'y répondez pas.",
    "en": "\n\n—\nPortail Parents\nThis email is sent automatically; please do not reply.",
}

TEMPLATES = {
    ("verification_code", "fr"): (
        "Votre code de vérification : {code}",
        "Bonjour,\n\nVoici votre code de vérification {purpose} dans le Portail Parents :\n\n    {code}\n\n"
        "Il est valide pendant {minutes} minutes. Si vous demandez un nouveau code, celui-ci ne sera "
        "plus valide : utilisez toujours le dernier code reçu.\n\n"
        "Si vous n'avez rien demandé, ignorez ce courriel; votre compte n'est pas modifié.",
    ),
    ("verification_code", "en"): (
        "Your verification code: {code}",
        "Hello,\n\nHere is your verification code {purpose} in Portail Parents:\n\n    {code}\n\n"
        "It is valid for {minutes} minutes. If you ask for a new code, this one will no longer work: "
        "always use the last code you received.\n\n"
        "If you did not ask for anything, ignore this email; your account is unchanged.",
    ),
    ("message", "fr"): (
        "Message de l'école : {title}",
        "Bonjour,\n\nUn nouveau message vous attend dans le Portail Parents.\n\n{title}\n{author}\n\n{body}",
    ),
    ("message", "en"): (
        "Message from the school: {title}",
        "Hello,\n\nA new message is waiting for you in Portail Parents.\n\n{title}\n{author}\n\n{body}",
    ),
    ("absence", "fr"): (
        "{headline} pour {child} le {date}",
        "Bonjour,\n\nL'école a enregistré {what} pour {child} le {date}. Si l'école demande un motif, "
        "donnez-le dans la tuile Absences du Portail Parents.",
    ),
    ("absence", "en"): (
        "{headline} for {child} on {date}",
        "Hello,\n\nThe school recorded {what} for {child} on {date}. If it needs a reason, give it in "
        "the Absences tile of Portail Parents.",
    ),
    ("bulletin", "fr"): (
        "Nouveau bulletin pour {child}",
        "Bonjour,\n\nUn nouveau bulletin ({school_year}) de {child} est disponible dans la tuile Résultats du "
        "Portail Parents.",
    ),
    ("bulletin", "en"): (
        "New report card for {child}",
        "Hello,\n\nA new report card ({school_year}) for {child} is available in the Results tile of "
        "Portail Parents.",
    ),
    ("statement", "fr"): (
        "Nouvel état de compte pour {child}",
        "Bonjour,\n\nUn nouvel état de compte ({period}) pour {child} est disponible dans la tuile Finances du "
        "Portail Parents.\n\nSolde : {balance}\nÀ payer au plus tard le : {due_date}\n"
        "Référence de paiement à donner à votre institution financière : {reference}",
    ),
    ("statement", "en"): (
        "New statement of account for {child}",
        "Hello,\n\nA new statement of account ({period}) for {child} is available in the Finances tile of "
        "Portail Parents.\n\nBalance: {balance}\nDue by: {due_date}\n"
        "Payment reference to give your bank: {reference}",
    ),
    ("detention", "fr"): (
        "Retenue pour {child} le {date}",
        "Bonjour,\n\n{child} a une retenue le {date}, de {start} à {end}{place}.\nMotif : {reason}",
    ),
    ("detention", "en"): (
        "Detention for {child} on {date}",
        "Hello,\n\n{child} has a detention on {date}, from {start} to {end}{place}.\nReason: {reason}",
    ),
    ("reenrollment", "fr"): (
        "La réinscription {school_year} est ouverte",
        "Bonjour,\n\nÀ titre de répondant principal, vous pouvez confirmer la réinscription de {children} pour "
        "l'année scolaire {school_year} dans le Portail Parents, du {opens_on} au {closes_on}.",
    ),
    ("reenrollment", "en"): (
        "Re-enrolment for {school_year} is open",
        "Hello,\n\nAs principal guardian, you can confirm the re-enrolment of {children} for the "
        "{school_year} school year in Portail Parents, from {opens_on} to {closes_on}.",
    ),
    ("digest", "fr"): (
        "Votre résumé du Portail Parents",
        "Bonjour,\n\nVoici les nouvelles depuis votre dernier résumé :\n\n{items}\n\n"
        "Les détails sont dans le Portail Parents.",
    ),
    ("digest", "en"): (
        "Your Portail Parents summary",
        "Hello,\n\nHere is what is new since your last summary:\n\n{items}\n\n"
        "The details are in Portail Parents.",
    ),
}

WORDS = {
    ("absence", "fr"): "une absence", ("absence", "en"): "an absence",
    ("lateness", "fr"): "un retard", ("lateness", "en"): "a lateness",
    ("absence.headline", "fr"): "Absence enregistrée", ("absence.headline", "en"): "Absence recorded",
    ("lateness.headline", "fr"): "Retard enregistré", ("lateness.headline", "en"): "Lateness recorded",
    ("child", "fr"): "votre enfant", ("child", "en"): "your child",
    ("and", "fr"): "et", ("and", "en"): "and",
    ("at", "fr"): ", local ", ("at", "en"): ", room ",
}


def word(key: str, locale: str) -> str:
    return WORDS[key, locale]


def money(cents: int, locale: str) -> str:
    """Amounts as each language writes them: 85,50 $ and $85.50."""
    sign = "-" if cents < 0 else ""
    dollars, rest = divmod(abs(cents), 100)
    if locale == "fr":
        return f"{sign}{dollars:,}".replace(",", "\u00a0") + f",{rest:02d}\u00a0$"
    return f"{sign}${dollars:,}.{rest:02d}"


def listing(names: list[str], locale: str) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} {word('and', locale)} {names[-1]}"


def verification_code(code: str, locale: str, flow: str) -> tuple[str, str]:
    return render("verification_code", locale, code=code, purpose=_CODE_PURPOSE[flow, locale],
                  minutes=CODE_VALID_MINUTES)


def render(kind: str, locale: str, **values) -> tuple[str, str]:
    subject, body = TEMPLATES[kind, locale]
    return subject.format(**values), body.format(**values) + _SIGNATURE[locale]
