"""Why an event was refused, with a stable code, the dotted path of the field, and fr/en text."""
import re

# (stable code, pattern of marshmallow's English message, French text). The first match wins;
# anything else keeps the code "invalid" and the English detail.
_KNOWN = [
    ("required", r"Missing data for required field\.", "champ obligatoire manquant"),
    ("unknown_field", r"Unknown field\.", "champ inconnu"),
    ("null", r"Field may not be null\.", "ne peut pas être nul"),
    ("wrong_type", r"Not a valid (integer|string|boolean|list|mapping|mapping type)\.|Invalid input type\.|"
                   r"Invalid type\.",
     "type de valeur incorrect"),
    ("bad_date", r"Not a valid date\.", "date invalide (AAAA-MM-JJ)"),
    ("bad_time", r"Not a valid time \(HH:MM\)\.", "heure invalide (HH:MM)"),
    ("bad_timestamp", r"Not a valid timestamp.*", "horodatage invalide (ISO-8601 avec fuseau)"),
    ("bad_email", r"Not a valid email address\.", "adresse courriel invalide"),
    ("bad_url", r"Not a valid URL\.", "adresse web invalide"),
    ("too_short", r"Shorter than minimum length (\d+)\.", "trop court (minimum {0})"),
    ("too_long", r"Longer than maximum length (\d+)\.", "trop long (maximum {0})"),
    ("bad_length", r"Length must be between (\d+) and (\d+)\.",
     "longueur hors limites ({0} à {1})"),
    ("not_allowed", r"Must be one of: (.*)\.", "valeur non permise (permises : {0})"),
    ("out_of_range", r"Must be greater than or equal to (-?\d+) and less than or equal to "
                     r"(-?\d+)\.", "doit être entre {0} et {1}"),
    ("out_of_range", r"Must be (greater|less) than or equal to (-?\d+)\.",
     "hors limites ({0} ou égal à {1})"),
    ("bad_format", r"String does not match expected pattern\.", "format invalide"),
    ("control_character", r"Contains a control character or a line break where none is allowed\.",
     "contient un caractère de contrôle ou un saut de ligne là où il n'en faut pas"),
    ("bad_permanent_code", r"Not a permanent code.*",
     "code permanent invalide : 4 lettres majuscules, jour, mois (+50 pour les filles) et année de "
     "naissance, puis 2 chiffres une fois complété par le ministère (12 ou 10 caractères)"),
    ("bad_school_year", r"Not a school year.*", "année scolaire invalide (ex. 2026-2027)"),
    # Cross-field rules (contracts.rules).
    ("too_early", r"Must not be before (\w+)\.", "ne doit pas précéder {0}"),
    ("too_early", r"Must be after (\w+)\.", "doit être postérieur à {0}"),
    ("required", r"Required when (.*)\.", "obligatoire lorsque {0}"),
    ("not_allowed_here", r"Must be absent unless (.*)\.", "doit être absent sauf si {0}"),
    ("out_of_range", r"Must be in year (\d+)\.", "doit être dans l'année {0}"),
    ("out_of_range", r"Must be between (\w+) and (\w+)\.", "doit être entre {0} et {1}"),
    ("too_high", r"Must not be more than (\w+)\.", "ne doit pas dépasser {0}"),
    ("duplicate", r"Duplicate value (.*)\.", "valeur en double ({0})"),
    ("mismatch", r"Must equal (.*) \((.*)\)\.", "doit être égal à {0} ({1})"),
    ("mismatch", r"Must equal the data field (.*)\.", "doit être égal au champ {0} des données"),
]
_FR_WORDS = {"greater": "supérieur", "less": "inférieur"}


def describe(message):
    """Return (code, French text) for one marshmallow (or contracts) English message."""
    for code, pattern, french in _KNOWN:
        match = re.fullmatch(pattern, message)
        if match:
            return code, french.format(*(_FR_WORDS.get(g, g) for g in match.groups()))
    return "invalid", f"valeur invalide ({message})"


class InvalidEvent(ValueError):
    """An event (or a line of a batch) that does not satisfy the contract.

    `field` is the dotted path of the first offending field (`data.subjects.0.code`), `None` when
    the body is not a JSON object at all; `errors` lists every (field, reason) found.
    """

    def __init__(self, reason, field, code=None, reason_fr=None, errors=None):
        if code is None:
            code, reason_fr = describe(reason)
        self.reason = reason
        self.field = field
        self.code = code
        self.reason_fr = reason_fr or reason
        self.errors = errors or [(field, reason)]
        super().__init__(f"{field or 'body'}: {reason}")

    def to_dict(self):
        return {"code": self.code, "field": self.field,
                "message": {"fr": self.reason_fr, "en": self.reason}}


def flatten(messages, prefix):
    """marshmallow's nested error dict -> [(dotted.path, message)] in schema order."""
    found = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            if key == "_schema":
                found.extend(flatten(value, prefix))
            else:
                found.extend(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(messages, list):
        for item in messages:
            found.extend(flatten(item, prefix))
    else:
        found.append((prefix, str(messages)))
    return found


def from_validation_error(error, prefix):
    found = flatten(error.messages, prefix)
    field, reason = found[0]
    return InvalidEvent(reason, field, errors=found)
