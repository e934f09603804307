"""Forms of the follow-up: evidence, indicator values, reviews, reopening (all with CSRF)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateField, RadioField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional


class EvidenceForm(FlaskForm):
    """The service checks everything (and names each problem); the form only carries it."""

    file = FileField(_l("File"))
    url = StringField(_l("Or a public link (http:// or https://)"), validators=[Optional()])
    description = TextAreaField(_l("What the evidence shows"))
    done_on = DateField(_l("Date the work was done"), validators=[Optional()])
    submit = SubmitField(_l("Send for review"))


class IndicatorForm(EvidenceForm):
    value = StringField(_l("Indicator value"))
    done_on = DateField(_l("Date of the measurement"), validators=[Optional()])
    submit = SubmitField(_l("Report the value"))


class ReviewForm(FlaskForm):
    decision = RadioField(_l("Decision"), choices=[
        SelectChoice("accepted", _l("Accept: it shows the milestone was done")),
        SelectChoice("rejected", _l("Reject: it does not show it")),
    ], validators=[Optional()], validate_choice=False)
    reason = TextAreaField(_l("Reason (required to reject; shown in the public history)"))
    submit = SubmitField(_l("Save the review"))


class ReopenForm(FlaskForm):
    reason = TextAreaField(_l("Why the milestone is reopened (shown in the public history)"))
    submit = SubmitField(_l("Reopen the milestone"))
