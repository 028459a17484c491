"""The notices service: mail to parents (verification codes, notifications), each parent's inbox
of school messages, resources, notification preferences and the private calendar feed.

Entrypoints first; the rules are in ``domain``, the read models in ``projections``, the mails'
texts in ``templates``.
"""
from __future__ import annotations

import logging

from marshmallow import Schema, fields, validate

from servicekit import errors
from servicekit.ops import Operations
from servicekit.rpc import rpc

from . import templates
from .mail import MailNotSent, Postman

log = logging.getLogger(__name__)


class VerificationCodeSchema(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    code = fields.String(required=True, validate=validate.Regexp(r"^[0-9]{6}$", error="invalid_code_format"))
    locale = fields.String(required=True, validate=validate.OneOf(templates.LOCALES))
    flow = fields.String(required=True, validate=validate.OneOf(templates.FLOWS))


class NoticesService:
    name = "notices"

    ops = Operations()
    postman = Postman()

    @rpc
    def send_verification_code(self, email, code, locale, flow):
        """Mail a verification code (identity's flows: register, reset, claim). The code is
        neither stored nor logged: it exists here only in the message handed to SMTP."""
        request = errors.load(VerificationCodeSchema(),
                              {"email": email, "code": code, "locale": locale, "flow": flow})
        subject, body = templates.verification_code(request["code"], request["locale"], request["flow"])
        message = self.postman.compose(request["email"], request["locale"], subject, body)
        try:
            self.postman.send(message)
        except MailNotSent as exc:
            log.warning("verification mail not sent (%s)", exc)
            raise errors.DomainError("mail_unavailable") from None
        return {"sent": True}
