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
}


def verification_code(code: str, locale: str, flow: str) -> tuple[str, str]:
    return render("verification_code", locale, code=code, purpose=_CODE_PURPOSE[flow, locale],
                  minutes=CODE_VALID_MINUTES)


def render(kind: str, locale: str, **values) -> tuple[str, str]:
    subject, body = TEMPLATES[kind, locale]
    return subject.format(**values), body.format(**values) + _SIGNATURE[locale]
